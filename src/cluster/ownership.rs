//! `Ownership`: which lines this replica runs, read on the hot path (tag routing) without
//! a lock. A lone MS5 owns every line; a replica owns the lines whose shard it leases.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use tokio::sync::watch;

use super::lease_keeper::Owned;
use crate::domain::cluster::shard::shard_of;
use crate::domain::plant::PlantModel;

/// Not owned.
const NONE: i64 = -1;

/// The epoch of each line's lease, or none, and whether its samples are routed here.
pub struct Ownership {
    lines: Vec<AtomicI64>,
    routed: Vec<AtomicBool>,
    /// Bumped at every change (PLC sources connect and leave as their lines come and go).
    changed: watch::Sender<u64>,
}

/// How a change of leases changes the lines owned.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Handover {
    /// Lines now owned, with their epoch (or owned under a new epoch: restored again
    /// from the store).
    pub gained: Vec<(usize, i64)>,
    /// Lines no longer owned.
    pub lost: Vec<usize>,
}

impl Ownership {
    /// Every line owned (a lone MS5: epoch 0).
    pub fn all(lines: usize) -> Arc<Ownership> {
        Arc::new(Ownership {
            lines: (0..lines).map(|_| AtomicI64::new(0)).collect(),
            routed: (0..lines).map(|_| AtomicBool::new(true)).collect(),
            changed: watch::Sender::new(0),
        })
    }

    /// No line owned yet (a replica before its first lease round).
    pub fn none(lines: usize) -> Arc<Ownership> {
        Arc::new(Ownership {
            lines: (0..lines).map(|_| AtomicI64::new(NONE)).collect(),
            routed: (0..lines).map(|_| AtomicBool::new(false)).collect(),
            changed: watch::Sender::new(0),
        })
    }

    /// Whether line `idx` runs here (its samples are routed here).
    pub fn owns(&self, line: usize) -> bool {
        self.routed.get(line).is_some_and(|r| r.load(Ordering::Acquire)) && self.epoch(line).is_some()
    }

    /// The epoch of line `idx`'s lease, when leased (its telemetry is written under it,
    /// also while a line being handed over finishes).
    pub fn epoch(&self, line: usize) -> Option<i64> {
        let e = self.lines.get(line)?.load(Ordering::Acquire);
        (e != NONE).then_some(e)
    }

    /// How many lines are owned.
    pub fn count(&self) -> usize {
        (0..self.lines.len()).filter(|&i| self.owns(i)).count()
    }

    /// What taking the leases in `owned` as the lines of `plant` owned would change (the
    /// caller makes each change with [`Ownership::set`], in the order that keeps samples
    /// from reaching a machine that is not running).
    pub fn changes(&self, plant: &PlantModel, owned: &Owned) -> Handover {
        let mut change = Handover::default();
        for (idx, line) in plant.lines.iter().enumerate() {
            let now = owned.get(&shard_of(&line.id)).copied();
            if self.epoch(idx) == now {
                continue;
            }
            match now {
                Some(epoch) => change.gained.push((idx, epoch)),
                None => change.lost.push(idx),
            }
        }
        change
    }

    /// Line `line` is owned under `epoch` (its samples routed here), or not at all.
    pub fn set(&self, line: usize, epoch: Option<i64>) {
        if let Some(slot) = self.lines.get(line) {
            slot.store(epoch.unwrap_or(NONE), Ordering::Release);
        }
        if let Some(r) = self.routed.get(line) {
            r.store(epoch.is_some(), Ordering::Release);
        }
        self.changed.send_modify(|n| *n += 1);
    }

    /// Whether any of `lines` runs here.
    pub fn owns_any(&self, lines: &[usize]) -> bool {
        lines.iter().any(|&l| self.owns(l))
    }

    /// Waits until `owned(self)` holds (at once if it does).
    pub async fn until(&self, owned: impl Fn(&Ownership) -> bool) {
        let mut changes = self.changed.subscribe();
        while !owned(self) {
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    /// Line `line` is being handed over: its samples are no longer routed here, while what
    /// was counted is written under its epoch.
    pub fn stop_routing(&self, line: usize) {
        if let Some(r) = self.routed.get(line) {
            r.store(false, Ordering::Release);
        }
        self.changed.send_modify(|n| *n += 1);
    }
}
