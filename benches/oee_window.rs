//! The O(1) update paths: one tally into the rolling windows, and one counter sample
//! through the whole machine model (dedup, time accounting, counting, windows).

use std::hint::black_box;

mod support;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ms5::domain::machine::{Machine, Sample};
use ms5::domain::machine_state::MachineState;
use ms5::domain::tag::TagValue;
use ms5::domain::tally::Tally;
use ms5::domain::window::RollingWindows;

fn windows(c: &mut Criterion) {
    let mut g = c.benchmark_group("oee_window");
    g.throughput(Throughput::Elements(1));
    g.bench_function("rolling_add", |b| {
        let mut w = RollingWindows::default();
        let mut at = 1_790_000_000_000i64;
        let t = Tally::of_time(MachineState::Running, true, false, 250) + Tally::of_parts(1, 1, 1000);
        b.iter(|| {
            at += 250;
            w.add(black_box(at), black_box(t));
        });
    });
    let plant = support::shipped_plant();
    let (idx, model) = plant
        .machine("l1-filler")
        .map(|(i, m)| (i, m.clone()))
        .unwrap_or_else(|| panic!("no filler"));
    let signal = |tag: &str| {
        model
            .signals
            .iter()
            .position(|s| s.tag == tag)
            .unwrap_or_else(|| panic!("{tag}"))
    };
    let (state, good) = (signal("L1.Filler.State"), signal("L1.Filler.Good"));
    g.bench_function("machine_counter_sample", |b| {
        let mut m = Machine::new(plant.clone(), idx);
        let mut out = Vec::with_capacity(16);
        let mut ts = 1_790_000_000_000i64;
        m.apply(
            Sample {
                signal: state,
                value: TagValue::Int(1),
                ts,
            },
            ts,
            &mut out,
        );
        let mut count = 0i64;
        b.iter(|| {
            ts += 1000;
            count += 1;
            out.clear();
            m.apply(
                black_box(Sample {
                    signal: good,
                    value: TagValue::Int(count),
                    ts,
                }),
                ts,
                &mut out,
            )
        });
    });
    g.finish();
}

criterion_group!(benches, windows);
criterion_main!(benches);
