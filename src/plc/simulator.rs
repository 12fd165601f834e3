//! The built-in simulated plant: every machine of the plant model cycles with jitter,
//! makes rejects, stops for micro-stops, faults (with fault codes) and changeovers, and
//! reports it all through the very tags the plant model maps, like a PLC would.
//!
//! The history is a function of the seed and the start instant only: each machine draws
//! its next event from its own seeded generator, so stepping every 50 ms or every 5 s
//! gives the same tag updates. `speed` makes simulated time run faster than real time.

use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::clock::Clock;
use crate::domain::EpochMs;
use crate::domain::counter::CounterMode;
use crate::domain::machine_state::MachineState;
use crate::domain::plant::{CounterRole, MachineModel, PlantModel, SignalKind};
use crate::domain::tag::{Quality, TagUpdate, TagValue};

use super::{TagSink, TagSource};

/// Chance per part of a micro-stop, a fault and a changeover; and of a reject.
const P_MICRO_STOP: f64 = 1.0 / 120.0;
const P_FAULT: f64 = 1.0 / 900.0;
const P_CHANGEOVER: f64 = 1.0 / 6000.0;
const P_REJECT: f64 = 0.02;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Running,
    Stopped(MachineState),
}

/// One simulated machine.
#[derive(Debug, Clone)]
pub struct SimMachine {
    rng: ChaCha8Rng,
    tags: SimTags,
    ideal_cycle_ms: i64,
    fault_codes: Vec<i64>,
    product_codes: Vec<i64>,
    product: usize,
    phase: Phase,
    /// When the next thing happens (part done, or stop over).
    next_at: EpochMs,
    good: u64,
    reject: u64,
    started: bool,
}

#[derive(Debug, Clone, Default)]
struct SimTags {
    state: Option<(String, Vec<(i64, MachineState)>)>,
    running: Option<String>,
    fault: Option<String>,
    good: Option<(String, u64)>,
    reject: Option<(String, u64)>,
    total: Option<(String, u64)>,
    fault_code: Option<String>,
    product: Option<String>,
}

fn width_max(kind: &SignalKind) -> u64 {
    match kind {
        SignalKind::Counter(c) => c.width.max().unwrap_or(u64::MAX),
        _ => u64::MAX,
    }
}

impl SimMachine {
    /// A simulated machine for `model`, seeded by the plant seed and its index.
    pub fn new(model: &MachineModel, seed: u64, index: usize, start: EpochMs) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut tags = SimTags::default();
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
        let mut fault_codes: Vec<i64> = model.fault_codes.keys().copied().collect();
        fault_codes.sort_unstable();
        let mut product_codes: Vec<i64> = model.products.keys().copied().collect();
        product_codes.sort_unstable();
        SimMachine {
            rng,
            tags,
            ideal_cycle_ms: model.ideal_cycle_ms,
            fault_codes,
            product_codes,
            product: 0,
            phase: Phase::Running,
            next_at: start,
            // Like a PLC after power-up: a restarted simulator reads as a counter reset
            // to zero, which counts nothing (never as thousands of phantom parts).
            good: 0,
            reject: 0,
            started: false,
        }
    }

    fn cycle_ms(&mut self) -> i64 {
        // 0–15 % slower than ideal: performance lands around 90–95 %.
        let jitter = self.rng.random_range(1.0..1.15);
        (self.ideal_cycle_ms as f64 * jitter).round() as i64
    }

    /// Emits everything that happened up to and including `until`.
    pub fn advance(&mut self, until: EpochMs, out: &mut Vec<TagUpdate>) {
        if !self.started {
            self.started = true;
            let at = self.next_at;
            self.emit_all(at, out);
            self.next_at = at + self.cycle_ms();
        }
        while self.next_at <= until {
            let at = self.next_at;
            match self.phase {
                Phase::Running => self.part_done(at, out),
                Phase::Stopped(_) => {
                    self.phase = Phase::Running;
                    self.emit_state(at, out);
                    self.next_at = at + self.cycle_ms();
                }
            }
        }
    }

    fn part_done(&mut self, at: EpochMs, out: &mut Vec<TagUpdate>) {
        if self.rng.random_bool(P_REJECT) {
            self.reject += 1;
        } else {
            self.good += 1;
        }
        self.emit_counts(at, out);
        let roll: f64 = self.rng.random();
        let (stop, secs) = if roll < P_FAULT {
            (Some(MachineState::Down), self.rng.random_range(180..900))
        } else if roll < P_FAULT + P_CHANGEOVER {
            (Some(MachineState::Changeover), self.rng.random_range(600..1200))
        } else if roll < P_FAULT + P_CHANGEOVER + P_MICRO_STOP {
            (Some(MachineState::Idle), self.rng.random_range(10..90))
        } else {
            (None, 0)
        };
        match stop {
            None => self.next_at = at + self.cycle_ms(),
            Some(state) => {
                if state == MachineState::Down && !self.fault_codes.is_empty() {
                    let code = self.fault_codes[self.rng.random_range(0..self.fault_codes.len())];
                    if let Some(tag) = &self.tags.fault_code {
                        out.push(update(tag, TagValue::Int(code), at));
                    }
                }
                if state == MachineState::Changeover && !self.product_codes.is_empty() {
                    self.product = (self.product + 1) % self.product_codes.len();
                }
                self.phase = Phase::Stopped(state);
                self.emit_state(at, out);
                self.next_at = at + secs * 1000;
            }
        }
    }

    fn state(&self) -> MachineState {
        match self.phase {
            Phase::Running => MachineState::Running,
            Phase::Stopped(s) => s,
        }
    }

    fn emit_all(&self, at: EpochMs, out: &mut Vec<TagUpdate>) {
        self.emit_state(at, out);
        self.emit_counts(at, out);
        if let (Some(tag), Some(code)) = (&self.tags.product, self.product_codes.get(self.product)) {
            out.push(update(tag, TagValue::Int(*code), at));
        }
        if let Some(tag) = &self.tags.fault_code {
            out.push(update(tag, TagValue::Int(0), at));
        }
    }

    fn emit_state(&self, at: EpochMs, out: &mut Vec<TagUpdate>) {
        let state = self.state();
        if let Some((tag, codes)) = &self.tags.state {
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
        if let Some(tag) = &self.tags.running {
            out.push(update(tag, TagValue::Bool(state == MachineState::Running), at));
        }
        if let Some(tag) = &self.tags.fault {
            out.push(update(tag, TagValue::Bool(state == MachineState::Down), at));
        }
        if state == MachineState::Changeover
            && let (Some(tag), Some(code)) = (&self.tags.product, self.product_codes.get(self.product))
        {
            out.push(update(tag, TagValue::Int(*code), at));
        }
    }

    fn emit_counts(&self, at: EpochMs, out: &mut Vec<TagUpdate>) {
        let wrap = |v: u64, max: u64| if max == u64::MAX { v } else { v % (max + 1) };
        if let Some((tag, max)) = &self.tags.good {
            out.push(update(tag, TagValue::Int(wrap(self.good, *max) as i64), at));
        }
        if let Some((tag, max)) = &self.tags.reject {
            out.push(update(tag, TagValue::Int(wrap(self.reject, *max) as i64), at));
        }
        if let Some((tag, max)) = &self.tags.total {
            out.push(update(
                tag,
                TagValue::Int(wrap(self.good + self.reject, *max) as i64),
                at,
            ));
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

/// The whole simulated plant.
#[derive(Debug, Clone)]
pub struct SimPlant {
    machines: Vec<SimMachine>,
    start_wall: EpochMs,
    speed: f64,
}

impl SimPlant {
    /// A simulated plant starting at `start` (wall time), running `speed` times real time.
    pub fn new(plant: &PlantModel, seed: u64, start: EpochMs, speed: f64) -> Self {
        SimPlant {
            machines: plant
                .machines
                .iter()
                .enumerate()
                .map(|(i, m)| SimMachine::new(m, seed, i, start))
                .collect(),
            start_wall: start,
            speed,
        }
    }

    /// Simulated time at wall time `wall`.
    pub fn sim_time(&self, wall: EpochMs) -> EpochMs {
        self.start_wall + ((wall - self.start_wall) as f64 * self.speed) as EpochMs
    }

    /// Everything that happened up to simulated time `until`, ordered by time.
    pub fn advance(&mut self, until: EpochMs) -> Vec<TagUpdate> {
        let mut out = Vec::new();
        for m in &mut self.machines {
            m.advance(until, &mut out);
        }
        out.sort_by_key(|u| u.ts);
        out
    }
}

/// The simulated plant as a [`TagSource`]: every `step` it delivers what happened, then a
/// heartbeat so machines standing still are known to be alive.
pub struct SimulatorSource {
    sim: SimPlant,
    step: Duration,
    clock: Clock,
}

impl SimulatorSource {
    /// A simulated `plant` starting now.
    pub fn new(plant: &PlantModel, seed: u64, speed: f64, step: Duration, clock: Clock) -> Self {
        SimulatorSource {
            sim: SimPlant::new(plant, seed, clock.now_ms(), speed),
            step,
            clock,
        }
    }
}

impl TagSource for SimulatorSource {
    fn name(&self) -> &'static str {
        "simulator"
    }

    fn start(self: Box<Self>, sink: TagSink) {
        let SimulatorSource { mut sim, step, clock } = *self;
        actix_rt::spawn(async move {
            let mut interval = actix_rt::time::interval(step);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                let now = sim.sim_time(clock.now_ms());
                let updates = sim.advance(now);
                if !updates.is_empty() {
                    sink.deliver(updates);
                }
                sink.heartbeat(now);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::demo_plant;

    #[test]
    fn same_seed_gives_the_same_history_whatever_the_step() {
        let plant = demo_plant();
        let start = 1_790_000_000_000;
        let hour = 3_600_000;
        let mut coarse = SimPlant::new(&plant, 7, start, 1.0);
        let mut fine = SimPlant::new(&plant, 7, start, 1.0);
        let a = coarse.advance(start + hour);
        let mut b = Vec::new();
        let mut t = start;
        while t < start + hour {
            t += 250;
            b.extend(fine.advance(t));
        }
        b.sort_by_key(|u| u.ts);
        assert!(
            a.len() > 1000,
            "an hour of eight machines makes thousands of updates, got {}",
            a.len()
        );
        let key = |v: &Vec<TagUpdate>| {
            let mut k: Vec<_> = v
                .iter()
                .map(|u| (u.ts, u.tag.clone(), format!("{:?}", u.value)))
                .collect();
            k.sort();
            k
        };
        assert_eq!(key(&a), key(&b));
        let mut other = SimPlant::new(&plant, 8, start, 1.0);
        assert_ne!(
            key(&a),
            key(&other.advance(start + hour)),
            "another seed, another history"
        );
    }

    #[test]
    fn every_simulated_tag_is_in_the_plant_model_and_all_states_occur() {
        let plant = demo_plant();
        let start = 1_790_000_000_000;
        let mut sim = SimPlant::new(&plant, 42, start, 1.0);
        let updates = sim.advance(start + 8 * 3_600_000);
        let mut seen_states = std::collections::HashSet::new();
        for u in &updates {
            let Some(&(m, s)) = plant.tags.get(&u.tag) else {
                panic!("simulator made up tag {}", u.tag);
            };
            if let SignalKind::StateCode(map) = &plant.machines[m].signals[s].kind
                && let Some(state) = u.value.as_i64().and_then(|c| map.get(&c))
            {
                seen_states.insert(*state);
            }
        }
        for state in [MachineState::Running, MachineState::Idle, MachineState::Down] {
            assert!(seen_states.contains(&state), "no {state:?} in 8 simulated hours");
        }
    }

    #[test]
    fn speed_runs_simulated_time_faster() {
        let plant = demo_plant();
        let sim = SimPlant::new(&plant, 1, 1_000_000, 10.0);
        assert_eq!(sim.sim_time(1_001_000), 1_010_000);
    }
}
