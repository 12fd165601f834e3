//! A simulated line as parts flowing through it: its machines in order, coupled by buffers
//! (a bounded count of parts) between consecutive machines.
//!
//! A machine starts a part only when its input buffer has one (the first machine always
//! has material) and its output buffer has room for it (the last machine can always send
//! its parts on); the part goes into the output buffer when the cycle ends. Every part
//! made goes on, good or reject: a reject is counted where it is found. So a machine that
//! stops starves the machines after it once their buffers run empty, and blocks the ones
//! before it once their buffers fill up.
//!
//! A machine waiting for a part or for room while it runs is paced by its neighbour, a
//! speed loss, and keeps reporting `running`. Only after waiting [`WAIT_GRACE_CYCLES`] of
//! its own ideal cycles does it report itself starved or blocked (a machine that was
//! stopped and cannot start reports it at once). That is how a line's sensors see it too:
//! a faster machine behind a slower one does not stop between every two parts.
//!
//! The model is event driven and deterministic: events are handled in time order, then in
//! machine order, and each machine draws from its own [`Behaviour`], so advancing in one
//! step or in many gives the same history.

use crate::domain::EpochMs;

use super::behaviour::{Behaviour, OwnStop};

/// How many of its own ideal cycles a running machine waits before it reports itself
/// starved or blocked.
pub const WAIT_GRACE_CYCLES: i64 = 3;

/// What a machine of a simulated line reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Making parts (or paced by a neighbour for less than the grace).
    Running,
    /// Stopped by itself.
    Stopped(OwnStop),
    /// Idle: its input buffer is empty because a machine before it stopped.
    Starved,
    /// Idle: its output buffer is full because a machine after it stopped.
    Blocked,
}

/// What happened on the line, in the order it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowEvent {
    /// Machine `station` finished a part.
    Part {
        /// When.
        at: EpochMs,
        /// Which machine (index in the line).
        station: usize,
        /// Good or reject.
        good: bool,
    },
    /// Machine `station` reports a new status.
    Status {
        /// When.
        at: EpochMs,
        /// Which machine.
        station: usize,
        /// Its status from now on.
        status: Status,
    },
    /// The line changed over to product `product` (an index into the line's products).
    Product {
        /// When.
        at: EpochMs,
        /// The new product.
        product: usize,
    },
}

/// A machine of the line as the model needs it.
#[derive(Debug, Clone)]
pub struct StationSpec {
    /// Ideal cycle time per product of the line, ms (one entry per product, at least one).
    pub ideal_ms: Vec<i64>,
    /// Its own cycles, rejects and stops.
    pub behaviour: Behaviour,
}

/// Parts a machine has handled so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Parts taken from its input buffer (the first machine takes from outside the line).
    pub taken: u64,
    /// Parts finished and passed on.
    pub made: u64,
    /// Of those, rejects.
    pub rejects: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Activity {
    Working { started: EpochMs, done_at: EpochMs },
    Stopped { until: EpochMs },
    Waiting { since: EpochMs },
}

#[derive(Debug, Clone)]
struct Station {
    spec: StationSpec,
    activity: Activity,
    status: Status,
    counts: Counts,
}

/// The line: machines, the buffers between them, and the product it makes.
#[derive(Debug, Clone)]
pub struct LineFlow {
    stations: Vec<Station>,
    /// `levels[i]`: parts between machine `i` and machine `i + 1`.
    levels: Vec<u32>,
    capacity: u32,
    product: usize,
    products: usize,
    /// The machine whose changeovers change the line's product.
    leader: Option<usize>,
    start: EpochMs,
    started: bool,
}

impl LineFlow {
    /// A line of `stations` in flow order with `capacity` parts (at least 1) between
    /// consecutive machines, empty, starting at `start` with its first product. A
    /// changeover of `leader` moves the line to its next product.
    pub fn new(stations: Vec<StationSpec>, capacity: u32, leader: Option<usize>, start: EpochMs) -> Self {
        let products = stations.iter().map(|s| s.ideal_ms.len()).max().unwrap_or(1).max(1);
        let levels = vec![0; stations.len().saturating_sub(1)];
        LineFlow {
            stations: stations
                .into_iter()
                .map(|spec| Station {
                    spec,
                    activity: Activity::Waiting { since: start },
                    status: Status::Running,
                    counts: Counts::default(),
                })
                .collect(),
            levels,
            capacity: capacity.max(1),
            product: 0,
            products,
            leader,
            start,
            started: false,
        }
    }

    /// Handles everything that happens up to and including `until`, appending it to `out`.
    /// Every machine reports [`Status::Running`] at the start without an event.
    pub fn advance(&mut self, until: EpochMs, out: &mut Vec<FlowEvent>) {
        if !self.started {
            self.started = true;
            let at = self.start;
            // Every machine starts out running; the ones with nothing to do yet are paced.
            for i in 0..self.stations.len() {
                self.try_start(i, at, out);
            }
        }
        while let Some((at, i)) = self.next_event()
            && at <= until
        {
            self.handle(i, at, out);
        }
    }

    /// Parts machine `station` has handled.
    pub fn counts(&self, station: usize) -> Counts {
        self.stations[station].counts
    }

    /// Parts in each buffer, from the first machine's output buffer on.
    pub fn levels(&self) -> &[u32] {
        &self.levels
    }

    /// The index of the product the line makes.
    pub fn product(&self) -> usize {
        self.product
    }

    /// Whether machine `station` is in the middle of a part.
    pub fn is_working(&self, station: usize) -> bool {
        matches!(self.stations[station].activity, Activity::Working { .. })
    }

    /// The earliest pending event: (when, machine). At the same instant, parts and stops
    /// come before grace reports (a part moved at that instant may end the wait), then
    /// machines in order.
    fn next_event(&self) -> Option<(EpochMs, usize)> {
        self.stations
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let (at, rank) = match s.activity {
                    Activity::Working { done_at, .. } => (done_at, 0),
                    Activity::Stopped { until } => (until, 0),
                    // A paced machine reports itself once the grace is over.
                    Activity::Waiting { since } if s.status == Status::Running => (since + self.grace_ms(i), 1),
                    Activity::Waiting { .. } => return None,
                };
                Some((at, rank, i))
            })
            .min()
            .map(|(at, _, i)| (at, i))
    }

    fn grace_ms(&self, i: usize) -> i64 {
        WAIT_GRACE_CYCLES * self.ideal_ms(i)
    }

    fn ideal_ms(&self, i: usize) -> i64 {
        let ideal = &self.stations[i].spec.ideal_ms;
        ideal.get(self.product).or(ideal.first()).copied().unwrap_or(1).max(1)
    }

    fn handle(&mut self, i: usize, at: EpochMs, out: &mut Vec<FlowEvent>) {
        match self.stations[i].activity {
            Activity::Working { started, .. } => self.part_done(i, at, at - started, out),
            Activity::Stopped { .. } => self.try_start(i, at, out),
            Activity::Waiting { .. } => {
                let status = self.waiting_status(i);
                self.set_status(i, status, at, out);
            }
        }
    }

    fn part_done(&mut self, i: usize, at: EpochMs, cycle_ms: i64, out: &mut Vec<FlowEvent>) {
        let outcome = self.stations[i].spec.behaviour.after_part(cycle_ms);
        let counts = &mut self.stations[i].counts;
        counts.made += 1;
        counts.rejects += u64::from(!outcome.good);
        out.push(FlowEvent::Part {
            at,
            station: i,
            good: outcome.good,
        });
        if i + 1 < self.stations.len() {
            // Room was there when the part was started; only this machine fills this buffer.
            self.levels[i] += 1;
        }
        match outcome.stop {
            Some((stop, ms)) => {
                self.stations[i].activity = Activity::Stopped { until: at + ms.max(1) };
                self.set_status(i, Status::Stopped(stop), at, out);
                if stop == OwnStop::Changeover && self.leader == Some(i) && self.products > 1 {
                    self.product = (self.product + 1) % self.products;
                    out.push(FlowEvent::Product {
                        at,
                        product: self.product,
                    });
                }
            }
            None => self.try_start(i, at, out),
        }
        if i + 1 < self.stations.len() {
            self.wake(i + 1, at, out);
        }
    }

    /// Starts a part if the machine has one and room for it; else it waits.
    fn try_start(&mut self, i: usize, at: EpochMs, out: &mut Vec<FlowEvent>) {
        let has_part = i == 0 || self.levels[i - 1] > 0;
        if has_part && self.has_room(i) {
            if i > 0 {
                self.levels[i - 1] -= 1;
            }
            let ideal = self.ideal_ms(i);
            let station = &mut self.stations[i];
            station.counts.taken += 1;
            let cycle = station.spec.behaviour.cycle_ms(ideal).max(1);
            station.activity = Activity::Working {
                started: at,
                done_at: at + cycle,
            };
            self.set_status(i, Status::Running, at, out);
            if i > 0 {
                self.wake(i - 1, at, out);
            }
            return;
        }
        match self.stations[i].activity {
            Activity::Waiting { .. } => {
                // Already waiting: once reported, the report follows the cause.
                if self.stations[i].status != Status::Running {
                    let status = self.waiting_status(i);
                    self.set_status(i, status, at, out);
                }
            }
            Activity::Working { .. } => {
                // Paced: keeps reporting running for the grace.
                self.stations[i].activity = Activity::Waiting { since: at };
            }
            Activity::Stopped { .. } => {
                // Out of its own stop with nothing to do: says so at once.
                self.stations[i].activity = Activity::Waiting { since: at };
                let status = self.waiting_status(i);
                self.set_status(i, status, at, out);
            }
        }
    }

    /// A neighbour moved a part: a waiting machine may start.
    fn wake(&mut self, i: usize, at: EpochMs, out: &mut Vec<FlowEvent>) {
        if matches!(self.stations[i].activity, Activity::Waiting { .. }) {
            self.try_start(i, at, out);
        }
    }

    fn has_room(&self, i: usize) -> bool {
        i + 1 == self.stations.len() || self.levels[i] < self.capacity
    }

    /// Blocked when there is no room for a part (it could not work even with one), else
    /// starved.
    fn waiting_status(&self, i: usize) -> Status {
        if self.has_room(i) {
            Status::Starved
        } else {
            Status::Blocked
        }
    }

    fn set_status(&mut self, i: usize, status: Status, at: EpochMs, out: &mut Vec<FlowEvent>) {
        if self.stations[i].status != status {
            self.stations[i].status = status;
            out.push(FlowEvent::Status { at, station: i, status });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plc::simulator::behaviour::Rates;

    const T0: EpochMs = 1_790_000_000_000;
    const FAULT: OwnStop = OwnStop::Fault(7);

    fn station(ideal_ms: i64, behaviour: Behaviour) -> StationSpec {
        StationSpec {
            ideal_ms: vec![ideal_ms],
            behaviour,
        }
    }

    /// Runs `flow` to `until` (ms after T0) and returns the status changes of `watch` as
    /// (ms after T0, status), and the parts it had made at each of them.
    fn run(flow: &mut LineFlow, until: i64, watch: usize) -> Vec<(i64, Status, u64)> {
        let mut events = Vec::new();
        flow.advance(T0 + until, &mut events);
        let mut made = 0;
        let mut seen = Vec::new();
        for e in events {
            match e {
                FlowEvent::Part { station, .. } if station == watch => made += 1,
                FlowEvent::Status { at, station, status } if station == watch => seen.push((at - T0, status, made)),
                _ => {}
            }
        }
        seen
    }

    #[test]
    fn an_upstream_stop_starves_the_downstream_once_its_buffer_drains() {
        // Machine A feeds B; A stops for 60 s right after its 10th part. Both run at exactly
        // their ideal cycle; B reports starved 3 of its cycles (3 s) after it ran dry.
        //
        // A 0.5 s, B 1 s, 3 places: A fills the buffer and is paced by B (it waits 0.5 s
        // for room each time, under its 1.5 s grace, so it keeps running). B takes part k
        // at k × 1 s − 0.5 s, which lets A start part k + 3, done at k × 1 s: A's 10th
        // part is done at 7 s and A stops with 3 parts in the buffer and B on its 7th.
        // B finishes parts 7 to 10 at 7.5, 8.5, 9.5 and 10.5 s, waits, and reports starved
        // at 13.5 s. A runs again at 67 s; its 11th part, at 67.5 s, starts B again.
        //
        // 1 place: A waits for room after each part, B takes part k at k × 1 s − 0.5 s,
        // so A's 10th part is done at 9 s with 1 part in the buffer and B on its 9th: B
        // finishes parts 9 and 10 at 9.5 and 10.5 s, reports starved at 13.5 s, and runs
        // again when A's 11th part is done, at 69.5 s.
        //
        // Same speed, 5 places: nothing builds up (B takes each part as it is done), so A
        // stops at 10 s, B finishes part 10 at 11 s, reports starved at 14 s and runs
        // again at 71 s (A's 11th part).
        //
        // (capacity, A ms, B ms, when A stops, B's parts and the buffer then,
        //  B's status changes (ms, status, parts B made by then))
        let table = [
            (
                3,
                500,
                1000,
                7_000,
                6,
                3,
                [(13_500, Status::Starved, 10), (67_500, Status::Running, 10)],
            ),
            (
                1,
                500,
                1000,
                9_000,
                8,
                1,
                [(13_500, Status::Starved, 10), (69_500, Status::Running, 10)],
            ),
            (
                5,
                1000,
                1000,
                10_000,
                9,
                0,
                [(14_000, Status::Starved, 10), (71_000, Status::Running, 10)],
            ),
        ];
        for (capacity, a, b, stop_at, b_made, level, want) in table {
            let stations = vec![
                station(a, Behaviour::steady().stop_after(10, FAULT, 60_000)),
                station(b, Behaviour::steady()),
            ];
            let flow = LineFlow::new(stations, capacity, None, T0);
            let row = format!("capacity {capacity}, A {a} ms, B {b} ms");
            let a_changes = run(&mut flow.clone(), 20_000, 0);
            assert_eq!(a_changes.first(), Some(&(stop_at, Status::Stopped(FAULT), 10)), "{row}");
            let mut at_stop = flow.clone();
            at_stop.advance(T0 + stop_at, &mut Vec::new());
            assert_eq!(
                (at_stop.counts(1).made, at_stop.levels()),
                (b_made, &[level][..]),
                "{row}"
            );
            assert_eq!(run(&mut flow.clone(), 80_000, 1), want, "{row}");
        }
    }

    #[test]
    fn a_downstream_stop_blocks_the_upstream_once_its_buffer_fills() {
        // Machine A feeds B; B stops for 60 s right after its 10th part. A reports blocked
        // 3 of its cycles (3 s) after its last part found the buffer full.
        //
        // A 1 s, B 0.5 s: B takes each part as it is done (part k at k s) and finishes it
        // at k s + 0.5 s, so B stops at 10.5 s with the buffer empty. A goes on: parts 11,
        // 12, 13 at 11, 12, 13 s fill 3 places; A reports blocked at 16 s. B runs again at
        // 70.5 s, takes a part, and A starts its 14th part at once. With 1 place, A's 11th
        // part fills it: blocked at 14 s.
        //
        // (capacity, A's status changes (ms, status, parts A made by then))
        let table = [
            (3, [(16_000, Status::Blocked, 13), (70_500, Status::Running, 13)]),
            (1, [(14_000, Status::Blocked, 11), (70_500, Status::Running, 11)]),
            (8, [(21_000, Status::Blocked, 18), (70_500, Status::Running, 18)]),
        ];
        for (capacity, want) in table {
            let stations = vec![
                station(1000, Behaviour::steady()),
                station(500, Behaviour::steady().stop_after(10, FAULT, 60_000)),
            ];
            let mut flow = LineFlow::new(stations, capacity, None, T0);
            assert_eq!(run(&mut flow, 80_000, 0), want, "capacity {capacity}");
        }
    }

    #[test]
    fn a_stop_travels_up_and_down_the_line_buffer_by_buffer() {
        // Four machines A, B, C, D at 1 s, 2 places between each; nothing builds up, each
        // takes a part as it is done. B stops for 60 s after its 5th part, at 6 s (it took
        // part 1 at 1 s). Upstream, A's parts of 6 and 7 s fill its 2 places: blocked 3 s
        // later, at 10 s. Downstream, C finishes B's 5th part at 7 s and D finishes it at
        // 8 s: each reports starved 3 s after. B runs again at 66 s and takes a part (A
        // starts one at once); C gets B's next part at 67 s, D C's at 68 s.
        //
        // (machine, its status changes (ms, status))
        let stations = (0..4)
            .map(|i| {
                let b = if i == 1 {
                    Behaviour::steady().stop_after(5, FAULT, 60_000)
                } else {
                    Behaviour::steady()
                };
                station(1000, b)
            })
            .collect::<Vec<_>>();
        let flow = LineFlow::new(stations, 2, None, T0);
        let table: [(usize, Vec<(i64, Status)>); 4] = [
            (0, vec![(10_000, Status::Blocked), (66_000, Status::Running)]),
            (1, vec![(6_000, Status::Stopped(FAULT)), (66_000, Status::Running)]),
            (2, vec![(10_000, Status::Starved), (67_000, Status::Running)]),
            (3, vec![(11_000, Status::Starved), (68_000, Status::Running)]),
        ];
        for (watch, want) in table {
            let got: Vec<_> = run(&mut flow.clone(), 80_000, watch)
                .into_iter()
                .map(|(t, s, _)| (t, s))
                .collect();
            assert_eq!(got, want, "machine {watch}");
        }
    }

    #[test]
    fn a_machine_paced_by_a_slower_neighbour_keeps_running() {
        // A faster machine waits a little for every part or every place, less than its
        // grace of 3 cycles: it never reports starved or blocked.
        // (A ms, B ms, capacity)
        let table = [(1000, 500, 1), (500, 1000, 1), (1000, 400, 4), (300, 1000, 20)];
        for (a, b, capacity) in table {
            let stations = vec![station(a, Behaviour::steady()), station(b, Behaviour::steady())];
            let mut flow = LineFlow::new(stations, capacity, None, T0);
            let mut events = Vec::new();
            flow.advance(T0 + 3_600_000, &mut events);
            let changes: Vec<_> = events
                .iter()
                .filter(|e| matches!(e, FlowEvent::Status { .. }))
                .collect();
            assert!(changes.is_empty(), "A {a} ms, B {b} ms: {changes:?}");
            // The slower one sets the pace: 3,600 s / its cycle, less the parts on the way.
            let slower = a.max(b);
            assert!(
                flow.counts(1).made + 2 >= (3_600_000 / slower) as u64,
                "A {a} ms, B {b} ms"
            );
        }
    }

    #[test]
    fn parts_are_conserved_between_every_two_machines() {
        // Four machines with the demo's random stops, run for 8 h in 1 s steps. At every
        // step, for each buffer: parts made before it = parts in it + parts taken after it;
        // and each machine took the parts it made plus the one it is on.
        let stations = [800, 1000, 900, 970]
            .into_iter()
            .enumerate()
            .map(|(i, ms)| station(ms, Behaviour::new(Rates::DEMO, 11 + i as u64, vec![1, 2], false)))
            .collect();
        let mut flow = LineFlow::new(stations, 5, None, T0);
        let mut events = Vec::new();
        let (mut starved, mut blocked) = (0, 0);
        for step in 1..=8 * 3600 {
            events.clear();
            flow.advance(T0 + step * 1000, &mut events);
            for e in &events {
                match e {
                    FlowEvent::Status {
                        status: Status::Starved,
                        ..
                    } => starved += 1,
                    FlowEvent::Status {
                        status: Status::Blocked,
                        ..
                    } => blocked += 1,
                    _ => {}
                }
            }
            for (i, level) in flow.levels().iter().enumerate() {
                assert!(*level <= 5, "buffer {i} over capacity at step {step}");
                assert_eq!(
                    flow.counts(i).made,
                    u64::from(*level) + flow.counts(i + 1).taken,
                    "buffer {i} at step {step}"
                );
            }
            for i in 0..4 {
                let c = flow.counts(i);
                assert_eq!(
                    c.taken,
                    c.made + u64::from(flow.is_working(i)),
                    "machine {i} at step {step}"
                );
            }
        }
        // Not a quiet line: stops starved and blocked machines, and parts went through.
        assert!(starved > 10 && blocked > 10, "starved {starved}, blocked {blocked}");
        assert!(flow.counts(3).made > 10_000, "{:?}", flow.counts(3));
    }

    #[test]
    fn the_leaders_changeover_moves_the_line_to_its_next_product() {
        // Two products; A (the leader) changes over for 10 s after its 3rd part, at 1.5 s,
        // and the line makes product 1 from then on. Each machine's cycle follows the
        // product: B takes 1 s for product 0, 2 s for product 1.
        let stations = vec![
            StationSpec {
                ideal_ms: vec![500, 500],
                behaviour: Behaviour::steady().stop_after(3, OwnStop::Changeover, 10_000),
            },
            StationSpec {
                ideal_ms: vec![1000, 2000],
                behaviour: Behaviour::steady(),
            },
        ];
        let mut flow = LineFlow::new(stations, 10, Some(0), T0);
        let mut events = Vec::new();
        flow.advance(T0 + 1_499, &mut events);
        assert_eq!(flow.product(), 0);
        flow.advance(T0 + 30_000, &mut events);
        assert!(
            events.contains(&FlowEvent::Product {
                at: T0 + 1_500,
                product: 1
            }),
            "{events:?}"
        );
        assert_eq!(flow.product(), 1);
        // B's parts: the 1st, taken at 0.5 s, at 1.5 s (product 0); the 2nd and 3rd, taken
        // at 1.5 and 3.5 s, at 3.5 and 5.5 s (product 1); A's 4th part comes after its
        // changeover, at 12 s, and B finishes it at 14 s.
        let b_parts: Vec<i64> = events
            .iter()
            .filter_map(|e| match e {
                FlowEvent::Part { at, station: 1, .. } => Some(at - T0),
                _ => None,
            })
            .take(4)
            .collect();
        assert_eq!(b_parts, [1_500, 3_500, 5_500, 14_000]);
    }
}
