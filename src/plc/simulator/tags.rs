//! How a simulated machine reports what it does, through the very tags the plant model
//! maps, like a PLC would: a state code or running/fault bits, part counters (wrapping at
//! their width), the fault code tag and the product tag.
//!
//! The fault code tag holds the code of the current stop and 0 while the machine runs: a
//! fault's code from `fault_codes`, and while starved or blocked the code the plant's
//! `idle_codes` give that cause, so the downtime gets the reason `starved` or `blocked`.

use crate::domain::EpochMs;
use crate::domain::counter::CounterMode;
use crate::domain::downtime::IdleCause;
use crate::domain::machine_state::MachineState;
use crate::domain::plant::{CounterRole, MachineModel, SignalKind};
use crate::domain::tag::{Quality, TagUpdate, TagValue};

use super::behaviour::OwnStop;
use super::line_flow::Status;

/// The tags of one simulated machine and the values it last gave them.
#[derive(Debug, Clone, Default)]
pub struct MachineTags {
    state: Option<(String, Vec<(i64, MachineState)>)>,
    running: Option<String>,
    fault: Option<String>,
    good: Option<(String, u64)>,
    reject: Option<(String, u64)>,
    total: Option<(String, u64)>,
    fault_code: Option<String>,
    product: Option<String>,
    starved_code: Option<i64>,
    blocked_code: Option<i64>,
    good_parts: u64,
    reject_parts: u64,
    /// The fault code last written.
    code: Option<i64>,
}

fn width_max(kind: &SignalKind) -> u64 {
    match kind {
        SignalKind::Counter(c) => c.width.max().unwrap_or(u64::MAX),
        _ => u64::MAX,
    }
}

impl MachineTags {
    /// The tags of `model`. Counters start at zero, like a PLC after power-up: a restarted
    /// simulator reads as a counter reset, which counts nothing (never as thousands of
    /// phantom parts).
    pub fn new(model: &MachineModel) -> Self {
        let mut tags = MachineTags::default();
        for s in &model.signals {
            let tag = s.tag.clone();
            match &s.kind {
                SignalKind::StateCode(map) => {
                    let mut codes: Vec<_> = map.iter().map(|(c, s)| (*c, *s)).collect();
                    codes.sort_unstable_by_key(|(c, _)| *c);
                    tags.state = Some((tag, codes));
                }
                SignalKind::RunningBit => tags.running = Some(tag),
                SignalKind::FaultBit => tags.fault = Some(tag),
                SignalKind::FaultCode => tags.fault_code = Some(tag),
                SignalKind::ProductCode => tags.product = Some(tag),
                SignalKind::Counter(c) if c.mode == CounterMode::Increment => {}
                SignalKind::Counter(c) => {
                    let slot = Some((tag, width_max(&s.kind)));
                    match c.role {
                        CounterRole::Good => tags.good = slot,
                        CounterRole::Reject => tags.reject = slot,
                        CounterRole::Total => tags.total = slot,
                    }
                }
            }
        }
        // The lowest code for each cause, so the same plant always reports the same code.
        let code_of = |cause: IdleCause| {
            model
                .idle_codes
                .iter()
                .filter(|(_, c)| **c == cause)
                .map(|(code, _)| *code)
                .min()
        };
        tags.starved_code = code_of(IdleCause::Starved);
        tags.blocked_code = code_of(IdleCause::Blocked);
        tags
    }

    /// Everything at once, when the simulation starts: running, counters, no fault code,
    /// and the product (`None` when the line has no products).
    pub fn start(&mut self, at: EpochMs, product: Option<i64>, out: &mut Vec<TagUpdate>) {
        self.write_state(MachineState::Running, at, out);
        self.write_counts(at, out);
        if let Some(code) = product {
            self.product(at, code, out);
        }
        self.write_code(0, at, out);
    }

    /// A new status: the fault code is written before a stop and after running again, so
    /// a stop opens with its reason and a restart does not change the reason of the stop
    /// it ends.
    pub fn status(&mut self, at: EpochMs, status: Status, out: &mut Vec<TagUpdate>) {
        let (state, code) = match status {
            Status::Running => (MachineState::Running, 0),
            Status::Stopped(OwnStop::Fault(code)) => (MachineState::Down, code),
            Status::Stopped(OwnStop::MicroStop) => (MachineState::Idle, 0),
            Status::Stopped(OwnStop::Changeover) => (MachineState::Changeover, 0),
            Status::Starved => (MachineState::Idle, self.starved_code.unwrap_or(0)),
            Status::Blocked => (MachineState::Idle, self.blocked_code.unwrap_or(0)),
        };
        if state == MachineState::Running {
            self.write_state(state, at, out);
            self.write_code(code, at, out);
        } else {
            self.write_code(code, at, out);
            self.write_state(state, at, out);
        }
    }

    /// A part made.
    pub fn part(&mut self, at: EpochMs, good: bool, out: &mut Vec<TagUpdate>) {
        if good {
            self.good_parts += 1;
        } else {
            self.reject_parts += 1;
        }
        self.write_counts(at, out);
    }

    /// The product the machine makes from now on (its PLC product code).
    pub fn product(&mut self, at: EpochMs, code: i64, out: &mut Vec<TagUpdate>) {
        if let Some(tag) = &self.product {
            out.push(update(tag, TagValue::Int(code), at));
        }
    }

    fn write_code(&mut self, code: i64, at: EpochMs, out: &mut Vec<TagUpdate>) {
        if let Some(tag) = &self.fault_code
            && self.code != Some(code)
        {
            self.code = Some(code);
            out.push(update(tag, TagValue::Int(code), at));
        }
    }

    fn write_state(&self, state: MachineState, at: EpochMs, out: &mut Vec<TagUpdate>) {
        if let Some((tag, codes)) = &self.state {
            // Bits-only states (no code for idle, say) fall back to the nearest meaning.
            let code = codes
                .iter()
                .find(|(_, s)| *s == state)
                .or_else(|| {
                    codes
                        .iter()
                        .find(|(_, s)| *s == MachineState::Down && state != MachineState::Running)
                })
                .map(|(c, _)| *c);
            if let Some(code) = code {
                out.push(update(tag, TagValue::Int(code), at));
            }
        }
        if let Some(tag) = &self.running {
            out.push(update(tag, TagValue::Bool(state == MachineState::Running), at));
        }
        if let Some(tag) = &self.fault {
            out.push(update(tag, TagValue::Bool(state == MachineState::Down), at));
        }
    }

    fn write_counts(&self, at: EpochMs, out: &mut Vec<TagUpdate>) {
        let wrap = |v: u64, max: u64| if max == u64::MAX { v } else { v % (max + 1) };
        let (good, reject) = (self.good_parts, self.reject_parts);
        for (slot, value) in [(&self.good, good), (&self.reject, reject), (&self.total, good + reject)] {
            if let Some((tag, max)) = slot {
                out.push(update(tag, TagValue::Int(wrap(value, *max) as i64), at));
            }
        }
    }
}

fn update(tag: &str, value: TagValue, ts: EpochMs) -> TagUpdate {
    TagUpdate {
        tag: tag.to_owned(),
        value,
        ts,
        quality: Quality::Good,
    }
}
