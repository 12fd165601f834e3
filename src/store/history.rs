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
    /// The tallies of a line over each of `spans` (in time order, not overlapping), with
    /// the store read once: each equal to [`Store::line_tally`] over its span (the same
    /// rows, clipped by the same [`tally_between`]). For OEE series.
    pub async fn line_tallies(
        &self,
        plant: &PlantModel,
        line: usize,
        spans: &[(EpochMs, EpochMs)],
    ) -> Result<Vec<Tally>, StoreError> {
        let (Some(first), Some(last)) = (spans.first(), spans.last()) else {
            return Ok(Vec::new());
        };
        let model = &plant.lines[line];
        let intervals = self
            .intervals(&plant.machines[model.constraint].id, first.0, last.1)
            .await?;
        let mut parts = self.parts(&plant.machines[model.output].id, first.0, last.1).await?;
        parts.sort_by_key(|p| p.at);
        // Intervals come sorted by start; one overlapping a span starts less than the
        // longest interval's length before it.
        let longest = intervals.iter().map(|iv| iv.end - iv.start).max().unwrap_or(0);
        Ok(spans
            .iter()
            .map(|&(from, to)| {
                let lo = intervals.partition_point(|iv| iv.start <= from.saturating_sub(longest));
                let hi = intervals.partition_point(|iv| iv.start < to).max(lo);
                let (plo, phi) = (
                    parts.partition_point(|p| p.at < from),
                    parts.partition_point(|p| p.at < to),
                );
                let times = tally_between(&plant.calendar, &intervals[lo..hi], &[], from, to);
                let counts = tally_between(&plant.calendar, &[], &parts[plo..phi.max(plo)], from, to);
                Tally::line(&times, &counts)
            })
            .collect())
    }
}
