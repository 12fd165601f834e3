//! A 200-machine plant (20 lines × 10 machines) and a full stored 8 h shift for it: what
//! the report and restore benchmarks read back from the store.

use std::path::Path;
use std::sync::Arc;

use ms5::config::parse_plant;
use ms5::domain::machine_state::MachineState;
use ms5::domain::plant::PlantModel;
use ms5::domain::tally::Tally;
use ms5::store::Store;
use ms5::store::batch::{Batch, DowntimeRow, IntervalRow};

/// Lines of the plant.
pub const LINES: usize = 20;
/// Machines per line.
pub const MACHINES_PER_LINE: usize = 10;
/// One minute, in milliseconds.
pub const MIN: i64 = 60_000;
/// 2026-03-02 06:00 UTC: the early shift starts.
pub const SHIFT_START: i64 = 1_772_431_200_000;
/// 14:00 UTC: the early shift ends.
pub const SHIFT_END: i64 = SHIFT_START + SHIFT_MINUTES * MIN;
/// Minutes of the shift, each with a stored minute row per machine.
pub const SHIFT_MINUTES: i64 = 480;
/// Parts each machine makes a minute, and how many of them are rejected.
pub const PARTS_PER_MINUTE: i64 = 55;
/// See [`PARTS_PER_MINUTE`].
pub const REJECTS_PER_MINUTE: i64 = 1;
/// Unplanned stops per machine: 10:00–10:12 (a jam) and 11:30–11:31 (a micro-stop).
pub const STOPS: [(i64, i64, &str, bool); 2] = [(240, 252, "jam", false), (330, 331, "unclassified", true)];

/// The plant: machines `m{line}-{n}` on lines `line-{line}`, UTC, one early shift with two
/// breaks (09:00–09:15, 12:00–12:30).
pub fn plant_200() -> Arc<PlantModel> {
    let mut toml = String::from(
        "timezone = \"UTC\"\nmicrostop_threshold = \"2m\"\nstale_after = \"30s\"\n\n\
         [[shifts]]\nname = \"early\"\nstart = \"06:00\"\nend = \"14:00\"\n\
         breaks = [{ start = \"09:00\", end = \"09:15\" }, { start = \"12:00\", end = \"12:30\" }]\n",
    );
    for l in 0..LINES {
        toml.push_str(&format!(
            "\n[[lines]]\nid = \"line-{l}\"\nname = \"Line {l}\"\noutput_machine = \"m{l}-9\"\nconstraint_machine = \"m{l}-4\"\n"
        ));
        for m in 0..MACHINES_PER_LINE {
            toml.push_str(&format!(
                "\n[[lines.machines]]\nid = \"m{l}-{m}\"\nname = \"Machine {m}\"\nideal_cycle_time = \"1s\"\n\
                 tags = {{ state = {{ tag = \"L{l}.M{m}.State\" }}, total = {{ tag = \"L{l}.M{m}.Total\", width = 32 }} }}\n"
            ));
        }
    }
    match parse_plant(&toml, "bench-plant.toml") {
        Ok(p) => Arc::new(p),
        Err(e) => panic!("bench plant invalid: {e}"),
    }
}

/// A full shift per machine: running, down for [`STOPS`], [`PARTS_PER_MINUTE`] parts a
/// minute of which [`REJECTS_PER_MINUTE`] rejected.
pub fn shift_history(plant: &PlantModel) -> Batch {
    let mut b = Batch::default();
    for (idx, m) in plant.machines.iter().enumerate() {
        let mut from = SHIFT_START;
        let mut cuts = Vec::new();
        for (start, end, _, _) in STOPS {
            cuts.push((from, SHIFT_START + start * MIN, MachineState::Running));
            cuts.push((SHIFT_START + start * MIN, SHIFT_START + end * MIN, MachineState::Down));
            from = SHIFT_START + end * MIN;
        }
        cuts.push((from, SHIFT_END, MachineState::Running));
        for (start, end, state) in cuts {
            let row = IntervalRow {
                machine_id: m.id.clone(),
                start,
                end,
                state,
            };
            b.intervals.insert((idx, start), row);
        }
        for (start, end, reason, micro) in STOPS {
            let row = DowntimeRow {
                machine_id: m.id.clone(),
                line_id: m.line_id.clone(),
                start: SHIFT_START + start * MIN,
                end: Some(SHIFT_START + end * MIN),
                reason: reason.to_owned(),
                micro_stop: micro,
            };
            b.downtime.insert((idx, row.start), row);
        }
        for k in 0..SHIFT_MINUTES {
            let minute = SHIFT_START + k * MIN;
            let good = PARTS_PER_MINUTE - REJECTS_PER_MINUTE;
            let t = Tally::of_parts(PARTS_PER_MINUTE, good, PARTS_PER_MINUTE * 1_000);
            b.parts.insert((idx, minute, String::new()), (m.id.clone(), t));
        }
    }
    b
}

/// A migrated SQLite store at `dir/bench.db` holding [`shift_history`] of `plant`.
pub async fn stored_shift(plant: &PlantModel, dir: &Path) -> Store {
    let store = Store::connect(&store_url(dir))
        .await
        .unwrap_or_else(|e| panic!("store: {e}"));
    store.migrate().await.unwrap_or_else(|e| panic!("migrate: {e}"));
    store
        .write(&shift_history(plant))
        .await
        .unwrap_or_else(|e| panic!("history: {e}"));
    store
}

/// The store URL of [`stored_shift`] in `dir`.
pub fn store_url(dir: &Path) -> String {
    format!("sqlite://{}/bench.db", dir.display())
}
