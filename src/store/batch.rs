//! A batch of telemetry rows, merged in memory until written: intervals by key, parts per
//! machine-minute-product, downtime by start, last value per tag.

use std::collections::HashMap;

use crate::domain::EpochMs;
use crate::domain::machine::MachineEvent;
use crate::domain::machine_state::MachineState;
use crate::domain::plant::{MachineIdx, PlantModel};
use crate::domain::tag::{Quality, TagUpdate};
use crate::domain::tally::Tally;

/// A state interval row.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalRow {
    /// Machine id.
    pub machine_id: String,
    /// Start.
    pub start: EpochMs,
    /// End so far.
    pub end: EpochMs,
    /// State.
    pub state: MachineState,
}

/// A downtime row (insert or update by machine and start).
#[derive(Debug, Clone, PartialEq)]
pub struct DowntimeRow {
    /// Machine id.
    pub machine_id: String,
    /// Line id.
    pub line_id: String,
    /// Start.
    pub start: EpochMs,
    /// End, when ended.
    pub end: Option<EpochMs>,
    /// Reason.
    pub reason: String,
    /// Ended as a micro-stop.
    pub micro_stop: bool,
}

/// Rows waiting to be written.
#[derive(Debug, Default)]
pub struct Batch {
    /// Intervals by (machine, start).
    pub intervals: HashMap<(MachineIdx, EpochMs), IntervalRow>,
    /// Parts by (machine, minute, product), with the machine id.
    pub parts: HashMap<(MachineIdx, EpochMs, String), (String, Tally)>,
    /// Downtime by (machine, start).
    pub downtime: HashMap<(MachineIdx, EpochMs), DowntimeRow>,
    /// Last value per tag.
    pub tag_last: HashMap<String, (EpochMs, f64)>,
    /// Raw samples.
    pub raw: Vec<TagUpdate>,
}

impl Batch {
    /// Rows held (for backlog metrics and batch limits).
    pub fn len(&self) -> usize {
        self.intervals.len() + self.parts.len() + self.downtime.len() + self.tag_last.len() + self.raw.len()
    }

    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows of the machines `keep` holds (tags by `machine_of_tag`; a tag of no machine
    /// is kept), and how many rows were left out; `None` when every row is kept (the batch
    /// as it is, not a copy).
    pub fn only_machines(
        &self,
        keep: &dyn Fn(MachineIdx) -> bool,
        machine_of_tag: &dyn Fn(&str) -> Option<MachineIdx>,
    ) -> Option<(Batch, usize)> {
        let tag_kept = |tag: &str| machine_of_tag(tag).is_none_or(keep);
        let all_kept = self.intervals.keys().all(|k| keep(k.0))
            && self.parts.keys().all(|k| keep(k.0))
            && self.downtime.keys().all(|k| keep(k.0))
            && self.tag_last.keys().all(|t| tag_kept(t))
            && self.raw.iter().all(|u| tag_kept(&u.tag));
        if all_kept {
            return None;
        }
        let out = Batch {
            intervals: self
                .intervals
                .iter()
                .filter(|(k, _)| keep(k.0))
                .map(|(k, v)| (*k, v.clone()))
                .collect(),
            parts: self
                .parts
                .iter()
                .filter(|(k, _)| keep(k.0))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            downtime: self
                .downtime
                .iter()
                .filter(|(k, _)| keep(k.0))
                .map(|(k, v)| (*k, v.clone()))
                .collect(),
            tag_last: self
                .tag_last
                .iter()
                .filter(|(t, _)| tag_kept(t))
                .map(|(t, v)| (t.clone(), *v))
                .collect(),
            raw: self.raw.iter().filter(|u| tag_kept(&u.tag)).cloned().collect(),
        };
        let left_out = self.len() - out.len();
        Some((out, left_out))
    }

    /// Merges one machine's events.
    pub fn record(&mut self, plant: &PlantModel, machine: MachineIdx, events: Vec<MachineEvent>) {
        let model = &plant.machines[machine];
        for e in events {
            match e {
                MachineEvent::Interval { start, end, state } => {
                    let row = self.intervals.entry((machine, start)).or_insert_with(|| IntervalRow {
                        machine_id: model.id.clone(),
                        start,
                        end,
                        state,
                    });
                    row.end = row.end.max(end);
                    row.state = state;
                }
                MachineEvent::Parts { at, product, tally } => {
                    let minute = at.div_euclid(60_000) * 60_000;
                    let key = (machine, minute, product.unwrap_or_default());
                    self.parts
                        .entry(key)
                        .or_insert_with(|| (model.id.clone(), Tally::default()))
                        .1 += tally;
                }
                MachineEvent::DowntimeOpen { start, reason } => {
                    let row = self.downtime.entry((machine, start)).or_insert_with(|| DowntimeRow {
                        machine_id: model.id.clone(),
                        line_id: model.line_id.clone(),
                        start,
                        end: None,
                        reason: reason.clone(),
                        micro_stop: false,
                    });
                    row.reason = reason;
                }
                MachineEvent::DowntimeEnded {
                    start,
                    end,
                    reason,
                    micro_stop,
                } => {
                    self.downtime.insert(
                        (machine, start),
                        DowntimeRow {
                            machine_id: model.id.clone(),
                            line_id: model.line_id.clone(),
                            start,
                            end: Some(end),
                            reason,
                            micro_stop,
                        },
                    );
                }
                // Logged and counted by the machine actor; the new baseline is the tag's value.
                MachineEvent::CounterReset { .. } => {}
                MachineEvent::TagApplied { signal, ts, value } => {
                    let Some(def) = model.signals.get(signal) else { continue };
                    // Look up before inserting: the tag name is cloned once per batch, not per sample.
                    match self.tag_last.get_mut(&def.tag) {
                        Some(last) if ts >= last.0 => *last = (ts, value.as_f64()),
                        Some(_) => {}
                        None => {
                            self.tag_last.insert(def.tag.clone(), (ts, value.as_f64()));
                        }
                    }
                }
            }
        }
    }

    /// Quality as stored.
    pub fn quality_name(q: Quality) -> &'static str {
        match q {
            Quality::Good => "good",
            Quality::Uncertain => "uncertain",
            Quality::Bad => "bad",
        }
    }
}
