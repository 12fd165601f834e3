//! The machine's accounting across gaps in its data: the stale verdict, a known loss of
//! communication, counters read across a gap, and spans at shift boundaries.

use std::sync::Arc;

use super::*;
use crate::domain::downtime::REASON_COMMS_LOST;

const PLANT: &str = r#"
timezone = "UTC"
microstop_threshold = "2m"
stale_after = "30s"

[[lines]]
id = "line-a"
name = "Line A"

[[lines.machines]]
id = "a-filler"
name = "Filler"
ideal_cycle_time = "1s"
fault_codes = { 7 = "jam" }
tags = { state = { tag = "State" }, total = { tag = "Total", width = 32 }, fault_code = "Fault" }
"#;

/// 2026-03-02 07:00 UTC.
const T0: EpochMs = 1_772_409_600_000 + 7 * 3_600_000;
/// One minute.
const MIN: EpochMs = 60_000;
/// The last data of [`running`]: one minute after the machine started.
const L: EpochMs = T0 + MIN;

/// What reaches the machine, at wall time = event time.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// A sample: tag, value, timestamp.
    At(&'static str, i64, EpochMs),
    /// The wall-clock tick.
    Tick(EpochMs),
    /// The source says the connection is gone.
    Lost(EpochMs),
    /// A heartbeat.
    Beat(EpochMs),
}
use Step::*;

fn plant(text: &str) -> Arc<PlantModel> {
    Arc::new(crate::config::parse_plant(text, "plant.toml").unwrap())
}

fn sample(plant: &PlantModel, tag: &str, value: i64, ts: EpochMs) -> Sample {
    let (_, signal) = plant.tags[tag];
    Sample {
        signal,
        value: TagValue::Int(value),
        ts,
    }
}

fn feed(m: &mut Machine, plant: &PlantModel, steps: &[Step], out: &mut Vec<MachineEvent>) {
    for &step in steps {
        match step {
            At(tag, value, ts) => {
                assert_eq!(
                    m.apply(sample(plant, tag, value, ts), ts, out),
                    SampleOutcome::Applied,
                    "{step:?}"
                );
            }
            Tick(wall) => m.tick(wall, out),
            Lost(wall) => m.comms_lost(wall, out),
            Beat(wall) => m.heartbeat(wall, wall, out),
        }
    }
}

fn run(steps: &[Step]) -> (Machine, Vec<MachineEvent>) {
    let plant = plant(PLANT);
    let mut m = Machine::new(plant.clone(), 0);
    let mut out = Vec::new();
    feed(&mut m, &plant, steps, &mut out);
    (m, out)
}

/// Running from T0, counter at 0, last data at L (60 parts).
fn running(rest: &[Step]) -> Vec<Step> {
    let mut steps = vec![At("State", 1, T0), At("Total", 0, T0), At("Total", 60, L)];
    steps.extend_from_slice(rest);
    steps
}

/// The time fields of every live window that holds this test's span (the plant has no
/// shifts, so the shift window stays empty).
fn times(m: &Machine) -> Vec<(WindowName, [i64; 4])> {
    [WindowName::M15, WindowName::H1, WindowName::H8, WindowName::Today]
        .into_iter()
        .map(|w| {
            let t = m.window(w);
            (w, [t.run_ms, t.down_ms, t.micro_stop_ms, t.comms_lost_ms])
        })
        .collect()
}

#[test]
fn silence_is_booked_as_comms_lost_from_the_last_data() {
    struct Case {
        name: &'static str,
        steps: Vec<Step>,
        /// run, down, micro-stop, comms lost (ms), in every live window.
        want: [i64; 4],
        state: MachineState,
        reason: Option<&'static str>,
        since: Option<EpochMs>,
    }
    let unknown = MachineState::Unknown;
    let running_ = MachineState::Running;
    let cases = [
        Case {
            // the minute of data runs; the 30,001 ms from L to the verdict are comms lost
            name: "silent just past stale_after",
            steps: running(&[Tick(L + 30_001)]),
            want: [60_000, 30_001, 0, 30_001],
            state: unknown,
            reason: Some(REASON_COMMS_LOST),
            since: Some(L),
        },
        Case {
            // judged at 30,001 ms, then the clock runs on with the wall clock to 45,000
            name: "silent 45 s",
            steps: running(&[Tick(L + 30_001), Tick(L + 45_000)]),
            want: [60_000, 45_000, 0, 45_000],
            state: unknown,
            reason: Some(REASON_COMMS_LOST),
            since: Some(L),
        },
        Case {
            // not more than stale_after: nothing is judged, and nothing booked past L
            name: "silent exactly stale_after",
            steps: running(&[Tick(L + 30_000)]),
            want: [60_000, 0, 0, 0],
            state: running_,
            reason: None,
            since: Some(T0),
        },
        Case {
            // 50 s without data ended below the 2 min threshold, and is still no micro-stop
            name: "data back after 50 s",
            steps: running(&[Tick(L + 30_001), At("State", 1, L + 50_000)]),
            want: [60_000, 50_000, 0, 50_000],
            state: running_,
            reason: None,
            since: Some(L + 50_000),
        },
        Case {
            // the jam started at L; comms lost during a jam is still the jam
            name: "a jam goes silent",
            steps: vec![
                At("State", 1, T0),
                At("State", 3, L),
                At("Fault", 7, L),
                Tick(L + 30_001),
            ],
            want: [60_000, 30_001, 0, 30_001],
            state: unknown,
            reason: Some("jam"),
            since: Some(L),
        },
        Case {
            // known loss 800 ms after the last data: unknown at once, from L
            name: "known loss",
            steps: running(&[Lost(L + 800)]),
            want: [60_000, 800, 0, 800],
            state: unknown,
            reason: Some(REASON_COMMS_LOST),
            since: Some(L),
        },
        Case {
            // the ticks after a known loss run the clock on; nothing is booked twice
            name: "known loss, then ticks",
            steps: running(&[Lost(L + 800), Tick(L + 30_001), Tick(L + 40_000)]),
            want: [60_000, 40_000, 0, 40_000],
            state: unknown,
            reason: Some(REASON_COMMS_LOST),
            since: Some(L),
        },
        Case {
            // a 3 min loss is an availability loss like any long stop
            name: "data back after 3 min",
            steps: running(&[Lost(L + 800), Tick(L + 90_000), At("State", 1, L + 180_000)]),
            want: [60_000, 180_000, 0, 180_000],
            state: running_,
            reason: None,
            since: Some(L + 180_000),
        },
        Case {
            name: "known loss of a machine that never had data",
            steps: vec![Lost(T0)],
            want: [0, 0, 0, 0],
            state: unknown,
            reason: None,
            since: None,
        },
        Case {
            // a heartbeat at L + 20 s is data: the silence is judged from it (25 s < 30 s)
            name: "heartbeats keep a quiet machine running",
            steps: running(&[Beat(L + 20_000), Tick(L + 45_000)]),
            want: [80_000, 0, 0, 0],
            state: running_,
            reason: None,
            since: Some(T0),
        },
    ];
    for c in cases {
        let (m, _) = run(&c.steps);
        for (window, got) in times(&m) {
            assert_eq!(got, c.want, "{}: window {window}", c.name);
        }
        assert_eq!(m.state(), c.state, "{}", c.name);
        assert_eq!(m.reason(), c.reason, "{}", c.name);
        assert_eq!(m.state_since(), c.since, "{}", c.name);
    }
}

#[test]
fn the_stale_span_is_stored_as_unknown_from_the_last_data() {
    let (m, events) = run(&running(&[Tick(L + 30_001)]));
    let intervals: Vec<_> = events
        .iter()
        .chain(m.open_interval().iter())
        .filter_map(|e| match e {
            MachineEvent::Interval { start, end, state } => Some((*start, *end, *state)),
            _ => None,
        })
        .collect();
    assert_eq!(
        intervals,
        vec![(T0, L, MachineState::Running), (L, L + 30_001, MachineState::Unknown)]
    );
    let opened: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            MachineEvent::DowntimeOpen { start, reason } => Some((*start, reason.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(opened, vec![(L, REASON_COMMS_LOST)]);
    // what the store recomputes from those intervals is what the live windows hold
    let past: Vec<PastInterval> = intervals
        .iter()
        .map(|&(start, end, state)| PastInterval {
            start,
            end,
            state,
            micro_stop: false,
        })
        .collect();
    let stored = crate::domain::history::tally_between(&m.plant.calendar, &past, &[], T0, L + 30_001);
    let live = m.window(WindowName::H1);
    assert_eq!(
        (stored.run_ms, stored.down_ms, stored.comms_lost_ms),
        (live.run_ms, live.down_ms, live.comms_lost_ms)
    );
}

#[test]
fn a_comms_loss_that_ends_short_is_stored_as_no_micro_stop() {
    let (_, events) = run(&running(&[Tick(L + 30_001), At("State", 1, L + 50_000)]));
    let ended: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            MachineEvent::DowntimeEnded {
                start,
                end,
                reason,
                micro_stop,
            } => Some((*start, *end, reason.as_str(), *micro_stop)),
            _ => None,
        })
        .collect();
    assert_eq!(ended, vec![(L, L + 50_000, REASON_COMMS_LOST, false)]);
}

#[test]
fn counters_read_across_a_gap_in_the_data_are_checked_for_plausibility() {
    use CounterReset::{Decrease, ImplausibleJump};
    // Running from T0 with the counter at `base`: its baseline, no parts.
    let from = |base: i64, rest: &[Step]| {
        let mut steps = vec![At("State", 1, T0), At("Total", base, T0)];
        steps.extend_from_slice(rest);
        steps
    };
    let silent = Tick(T0 + 30_001);
    // (case, steps, parts counted, resets reported: kind, previous, current, gap ms)
    type Reset = (CounterReset, u64, u64, i64);
    let cases: [(&str, Vec<Step>, i64, Vec<Reset>); 9] = [
        (
            // 40 s at 1 s allows 40 × 1.5 + 5 = 65 parts; the next step counts from the new value
            "a jump across a silence beyond the machine's rate",
            from(
                100,
                &[
                    silent,
                    At("Total", 5_000_000, T0 + 40_000),
                    At("Total", 5_000_010, T0 + 50_000),
                ],
            ),
            10,
            vec![(ImplausibleJump, 100, 5_000_000, 40_000)],
        ),
        (
            "a step at the limit across a silence",
            from(100, &[silent, At("Total", 165, T0 + 40_000)]),
            65,
            vec![],
        ),
        (
            "one part past the limit",
            from(100, &[silent, At("Total", 166, T0 + 40_000)]),
            0,
            vec![(ImplausibleJump, 100, 166, 40_000)],
        ),
        (
            // 10 s allows 20
            "a jump after a known loss",
            from(100, &[Lost(T0 + 1_000), At("Total", 100_000, T0 + 10_000)]),
            0,
            vec![(ImplausibleJump, 100, 100_000, 10_000)],
        ),
        (
            "a reset to a small value after a silence counts the value",
            from(1_000, &[silent, At("Total", 12, T0 + 40_000)]),
            12,
            vec![(Decrease, 1_000, 12, 40_000)],
        ),
        (
            "a reset to a large value after a silence counts nothing",
            from(1_000, &[silent, At("Total", 900, T0 + 40_000)]),
            0,
            vec![(ImplausibleJump, 1_000, 900, 40_000)],
        ),
        (
            // only the first step after a gap is judged
            "the step after the first one",
            from(
                100,
                &[
                    silent,
                    At("Total", 150, T0 + 40_000),
                    At("Total", 5_000_000, T0 + 41_000),
                ],
            ),
            4_999_900,
            vec![],
        ),
        (
            // data all along (heartbeats count): no gap, no judgement
            "a jump without a gap",
            from(100, &[Beat(T0 + 20_000), At("Total", 5_000_000, T0 + 40_000)]),
            4_999_900,
            vec![],
        ),
        (
            "a decrease without a gap",
            from(1_000, &[At("Total", 5, T0 + 1_000)]),
            5,
            vec![(Decrease, 1_000, 5, 1_000)],
        ),
    ];
    for (name, steps, parts, resets) in cases {
        let (m, events) = run(&steps);
        assert_eq!(m.window(WindowName::Today).total, parts, "{name}");
        let got: Vec<Reset> = events
            .iter()
            .filter_map(|e| match e {
                MachineEvent::CounterReset {
                    previous,
                    current,
                    gap_ms,
                    kind,
                    ..
                } => Some((*kind, *previous, *current, *gap_ms)),
                _ => None,
            })
            .collect();
        assert_eq!(got, resets, "{name}");
    }
}

#[test]
fn a_counter_after_a_restart_is_judged_against_the_time_ms5_was_away() {
    const HOUR: EpochMs = 3_600_000;
    let plant = plant(PLANT);
    let (_, total) = plant.tags["Total"];
    // Stopped at T0 with the counter at 100; back an hour later. The gap from the stored
    // reading to the new one is 3,601,000 ms: at most ⌈3,601 × 1.5⌉ + 5 = 5,407 parts.
    let cases = [(3_100, 3_000, 0), (100_000, 0, 1), (5_507, 5_407, 0), (5_508, 0, 1)];
    for (value, parts, implausible) in cases {
        let mut m = Machine::new(plant.clone(), 0);
        m.restore(
            &MachineHistory {
                intervals: vec![PastInterval {
                    start: T0 - HOUR,
                    end: T0,
                    state: MachineState::Running,
                    micro_stop: false,
                }],
                tags: vec![(total, T0, TagValue::Int(100))],
                ..MachineHistory::default()
            },
            T0 + HOUR,
        );
        let before = m.window(WindowName::Today).total;
        let mut out = Vec::new();
        feed(
            &mut m,
            &plant,
            &[At("State", 1, T0 + HOUR + 1_000), At("Total", value, T0 + HOUR + 1_000)],
            &mut out,
        );
        assert_eq!(m.window(WindowName::Today).total - before, parts, "value {value}");
        let jumps = out
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    MachineEvent::CounterReset {
                        kind: CounterReset::ImplausibleJump,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(jumps, implausible, "value {value}");
    }
}

#[test]
fn a_restored_machine_without_data_runs_its_clock_from_the_restart() {
    const HOUR: EpochMs = 3_600_000;
    let plant = plant(PLANT);
    let mut m = Machine::new(plant.clone(), 0);
    // stopped an hour ago, running
    m.restore(
        &MachineHistory {
            intervals: vec![PastInterval {
                start: T0 - 2 * HOUR,
                end: T0 - HOUR,
                state: MachineState::Running,
                micro_stop: false,
            }],
            ..MachineHistory::default()
        },
        T0,
    );
    let mut out = Vec::new();
    // (wall tick, head after it, comms lost in the hour window): unknown from the first
    // tick past stale_after, the hour MS5 was away booked nowhere
    let table = [
        (T0 + 30_000, Some(T0 - HOUR), 0),
        (T0 + 30_001, Some(T0 + 30_001), 0),
        (T0 + 60_000, Some(T0 + 60_000), 29_999),
        (T0 + 90_000, Some(T0 + 90_000), 59_999),
    ];
    for (wall, head, comms_lost) in table {
        m.tick(wall, &mut out);
        assert_eq!(m.head(), head, "tick at T0 + {} ms", wall - T0);
        assert_eq!(
            m.window(WindowName::H1).comms_lost_ms,
            comms_lost,
            "tick at T0 + {} ms",
            wall - T0
        );
    }
    assert_eq!(m.state(), MachineState::Unknown);
}

#[test]
fn a_counter_sample_stamped_at_a_shift_end_counts_in_the_next_shift() {
    let plant = plant(&format!(
        "{PLANT}\n[[shifts]]\nname = \"early\"\nstart = \"06:00\"\nend = \"14:00\"\n\n\
         [[shifts]]\nname = \"late\"\nstart = \"14:00\"\nend = \"22:00\"\n"
    ));
    let end = T0 + 7 * 3_600_000; // 14:00
    // (sample time, counter value, shift window start afterwards, its total)
    let table = [
        (end - MIN, 0, T0 - 3_600_000, 0),
        (end - 1, 10, T0 - 3_600_000, 10),
        // stamped exactly at 14:00: made just before it, counted in [14:00, 22:00)
        (end, 25, end, 15),
        (end + 1, 26, end, 16),
    ];
    let mut m = Machine::new(plant.clone(), 0);
    let mut out = Vec::new();
    feed(&mut m, &plant, &[At("State", 1, end - 60 * MIN)], &mut out);
    for (ts, value, shift_start, total) in table {
        feed(&mut m, &plant, &[At("Total", value, ts)], &mut out);
        assert_eq!(
            (m.shift_bounds().map(|b| b.0), m.window(WindowName::Shift).total),
            (Some(shift_start), total),
            "sample at 14:00 {:+} ms",
            ts - end
        );
    }
}
