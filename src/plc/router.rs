//! Tag name → (machine, signal). Unknown tags and bad-quality values stop here, counted.

use std::sync::Arc;

use crate::domain::machine::Sample;
use crate::domain::plant::{MachineIdx, PlantModel};
use crate::domain::tag::{Quality, TagUpdate};

/// Updates grouped by machine, and what was turned away.
#[derive(Debug, Default)]
pub struct RoutedBatch {
    /// Samples per machine, in arrival order.
    pub per_machine: Vec<(MachineIdx, Vec<Sample>)>,
    /// Tags the plant model does not know.
    pub unknown_tag: usize,
    /// Bad-quality values (ignored).
    pub bad_quality: usize,
    /// Uncertain-quality values (applied, counted).
    pub uncertain_quality: usize,
}

/// Routes tag updates to machine signals.
#[derive(Debug, Clone)]
pub struct TagRouter {
    plant: Arc<PlantModel>,
}

impl TagRouter {
    /// A router for this plant.
    pub fn new(plant: Arc<PlantModel>) -> Self {
        TagRouter { plant }
    }

    /// Groups updates by machine, dropping unknown tags and bad-quality values.
    pub fn route(&self, updates: impl IntoIterator<Item = TagUpdate>) -> RoutedBatch {
        let mut batch = RoutedBatch::default();
        let mut slots: Vec<Option<usize>> = vec![None; self.plant.machines.len()];
        for u in updates {
            let Some(&(machine, signal)) = self.plant.tags.get(&u.tag) else {
                batch.unknown_tag += 1;
                continue;
            };
            match u.quality {
                Quality::Bad => {
                    batch.bad_quality += 1;
                    continue;
                }
                Quality::Uncertain => batch.uncertain_quality += 1,
                Quality::Good => {}
            }
            let sample = Sample {
                signal,
                value: u.value,
                ts: u.ts,
            };
            match slots[machine] {
                Some(i) => batch.per_machine[i].1.push(sample),
                None => {
                    slots[machine] = Some(batch.per_machine.len());
                    batch.per_machine.push((machine, vec![sample]));
                }
            }
        }
        batch
    }
}
