//! Past spans read back and tallied by the domain's own rules ([`tally_between`]): the
//! one path behind `?from=&to=`, job OEE and reports, so they agree to the last digit.

use super::{Store, StoreError};
use crate::domain::EpochMs;
use crate::domain::history::tally_between;
use crate::domain::plant::{MachineIdx, PlantModel};
use crate::domain::tally::Tally;

impl Store {
    /// The tally of one machine over `[from, to)`: its time (`times`), its parts
    /// (`parts`), or both.
    pub async fn machine_tally(
        &self,
        plant: &PlantModel,
        machine: MachineIdx,
        from: EpochMs,
        to: EpochMs,
        times: bool,
        parts: bool,
    ) -> Result<Tally, StoreError> {
        let id = &plant.machines[machine].id;
        let intervals = if times {
            self.intervals(id, from, to).await?
        } else {
            Vec::new()
        };
        let counts = if parts {
            self.parts(id, from, to).await?
        } else {
            Vec::new()
        };
        Ok(tally_between(&plant.calendar, &intervals, &counts, from, to))
    }

    /// The tally of a line over `[from, to)`: time from its constraint machine, parts
    /// from its output machine ([`Tally::line`]).
    pub async fn line_tally(
        &self,
        plant: &PlantModel,
        line: usize,
        from: EpochMs,
        to: EpochMs,
    ) -> Result<Tally, StoreError> {
        let model = &plant.lines[line];
        let times = self
            .machine_tally(plant, model.constraint, from, to, true, false)
            .await?;
        let counts = self.machine_tally(plant, model.output, from, to, false, true).await?;
        Ok(Tally::line(&times, &counts))
    }
}
