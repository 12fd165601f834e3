//! One machine's live picture: state, counts, downtime and OEE windows, updated per tag
//! sample in O(1).
//!
//! Time is event time: a sample's timestamp moves the machine's clock (`head`), and the
//! time since the previous instant is accounted to the state the machine was in. So a
//! shift fed afterwards with its original timestamps gives the same figures as the same
//! shift seen live. Staleness is the one thing judged on the wall clock: when nothing has
//! arrived for `stale_after`, or at once when its source says the connection is gone, the
//! machine goes `unknown` from its last data (`comms_lost`), and its clock then runs on
//! with the wall clock from there. A counter that jumps implausibly far across such a gap
//! is read as reset ([`across_gap`]).

use std::sync::Arc;

use super::EpochMs;
use super::counter::{CounterMode, CounterWidth, DeltaKind, across_gap, cumulative_delta};
use super::downtime::{REASON_COMMS_LOST, is_micro_stop, reason_for, updated_reason};
use super::machine_state::{MachineState, state_from_bits, state_from_code};
use super::plant::{CounterDef, MachineIdx, MachineModel, PlantModel, Product, SignalIdx, SignalKind};
use super::tag::TagValue;
use super::tally::Tally;
use super::window::{AnchoredWindow, BUCKET_MS, RollingWindows, WindowName, bucket_start};

/// A routed tag value for this machine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Which of the machine's signals.
    pub signal: SignalIdx,
    /// The value.
    pub value: TagValue,
    /// Source timestamp.
    pub ts: EpochMs,
}

/// What became of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleOutcome {
    /// Applied to live state.
    Applied,
    /// Same tag and timestamp as one already applied: counted once.
    Duplicate,
    /// Older than the last one applied for its tag: not applied.
    Late,
    /// The value does not fit the tag (wrong type, unmapped state code, negative count).
    WrongValue,
}

/// Facts the machine reports for storage and fan-out.
#[derive(Debug, Clone, PartialEq)]
pub enum MachineEvent {
    /// The machine was in `state` during `[start, end)`. Sent when the state changes, and
    /// as progress for the open interval (same `start`, later `end`).
    Interval {
        /// Interval start.
        start: EpochMs,
        /// Interval end (so far).
        end: EpochMs,
        /// The state.
        state: MachineState,
    },
    /// Parts counted at `at`.
    Parts {
        /// Sample time.
        at: EpochMs,
        /// Product name, if known.
        product: Option<String>,
        /// Tally with total, good and ideal time.
        tally: Tally,
    },
    /// A downtime event started, or its reason changed.
    DowntimeOpen {
        /// Start.
        start: EpochMs,
        /// Current reason.
        reason: String,
    },
    /// A downtime event ended.
    DowntimeEnded {
        /// Start.
        start: EpochMs,
        /// End.
        end: EpochMs,
        /// Final reason.
        reason: String,
        /// Shorter than the micro-stop threshold.
        micro_stop: bool,
    },
    /// A cumulative counter was reset: it went down, or jumped implausibly far across a
    /// gap in the data. The new value is its baseline from here.
    CounterReset {
        /// Which signal.
        signal: SignalIdx,
        /// The reading before.
        previous: u64,
        /// The new reading.
        current: u64,
        /// Time between the two readings, ms.
        gap_ms: EpochMs,
        /// What kind of reset.
        kind: CounterReset,
    },
    /// A tag value was applied (kept as the baseline across restarts).
    TagApplied {
        /// Which signal.
        signal: SignalIdx,
        /// Its timestamp.
        ts: EpochMs,
        /// Its value.
        value: TagValue,
    },
}

/// Why a counter reading was taken as a reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterReset {
    /// The counter went down (not a rollover): the new value counts.
    Decrease,
    /// It moved by more than the machine could have made across a gap in the data: the new
    /// value counts nothing.
    ImplausibleJump,
}

impl CounterReset {
    /// The `reason` label of the reset metric.
    pub fn as_str(self) -> &'static str {
        match self {
            CounterReset::Decrease => "decrease",
            CounterReset::ImplausibleJump => "implausible_jump",
        }
    }
}

/// A state interval read back from the store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PastInterval {
    /// Start.
    pub start: EpochMs,
    /// End.
    pub end: EpochMs,
    /// State.
    pub state: MachineState,
    /// Part of a downtime that ended as a micro-stop.
    pub micro_stop: bool,
}

/// Parts read back from the store (one row per minute and product).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PastParts {
    /// Start of the minute.
    pub at: EpochMs,
    /// Tally with total, good and ideal time.
    pub tally: Tally,
}

/// What a machine needs to pick up where it left off.
#[derive(Debug, Clone, Default)]
pub struct MachineHistory {
    /// Intervals, oldest first.
    pub intervals: Vec<PastInterval>,
    /// Parts, any order.
    pub parts: Vec<PastParts>,
    /// Last applied value of each tag.
    pub tags: Vec<(SignalIdx, EpochMs, TagValue)>,
    /// The downtime still open when the service stopped: (start, reason).
    pub open_downtime: Option<(EpochMs, String)>,
}

#[derive(Debug, Clone, Default)]
struct SignalState {
    last_ts: Option<EpochMs>,
    /// Last raw counter reading (cumulative counters only).
    counter_raw: Option<u64>,
    /// The data had a gap (communication lost, or MS5 restarted) since `counter_raw` was
    /// read: the next step is checked for plausibility.
    across_gap: bool,
}

#[derive(Debug, Clone)]
struct OpenDowntime {
    start: EpochMs,
    reason: String,
    /// Availability-loss time per bucket, kept while the stop could still end as a
    /// micro-stop, so it can be moved to micro-stop time in the buckets it was counted in.
    down_by_bucket: Vec<(EpochMs, i64)>,
    tracking: bool,
}

/// Calendar facts valid for `[from, until)`.
#[derive(Debug, Clone, Copy, Default)]
struct CalendarSpan {
    from: EpochMs,
    until: EpochMs,
    planned: bool,
    shift: Option<(EpochMs, EpochMs)>,
    day: (EpochMs, EpochMs),
}

/// Live state of one machine.
#[derive(Debug, Clone)]
pub struct Machine {
    plant: Arc<PlantModel>,
    idx: MachineIdx,
    signals: Vec<SignalState>,
    state: MachineState,
    state_since: Option<EpochMs>,
    code_state: Option<MachineState>,
    running: Option<bool>,
    fault: Option<bool>,
    fault_code: Option<i64>,
    product: Option<i64>,
    /// The product of the line's running job: used while the PLC reports none.
    job_product: Option<Product>,
    /// Event time accounted so far; `None` until the first state is known.
    head: Option<EpochMs>,
    last_seen: EpochMs,
    last_received_wall: EpochMs,
    stale: bool,
    /// Restored from the store: the next instant resumes without accounting the gap.
    resuming: bool,
    rolling: RollingWindows,
    shift: AnchoredWindow,
    today: AnchoredWindow,
    calendar: CalendarSpan,
    open_downtime: Option<OpenDowntime>,
}

impl Machine {
    /// A machine with no data yet.
    pub fn new(plant: Arc<PlantModel>, idx: MachineIdx) -> Self {
        let n = plant.machines[idx].signals.len();
        Machine {
            plant,
            idx,
            signals: vec![SignalState::default(); n],
            state: MachineState::Unknown,
            state_since: None,
            code_state: None,
            running: None,
            fault: None,
            fault_code: None,
            product: None,
            job_product: None,
            head: None,
            last_seen: 0,
            last_received_wall: 0,
            stale: false,
            resuming: false,
            rolling: RollingWindows::default(),
            shift: AnchoredWindow::default(),
            today: AnchoredWindow::default(),
            calendar: CalendarSpan::default(),
            open_downtime: None,
        }
    }

    /// The machine's model.
    pub fn model(&self) -> &MachineModel {
        &self.plant.machines[self.idx]
    }

    /// Current state.
    pub fn state(&self) -> MachineState {
        self.state
    }

    /// Since when (event time).
    pub fn state_since(&self) -> Option<EpochMs> {
        self.state_since
    }

    /// The reason of the open downtime, if the machine is stopped.
    pub fn reason(&self) -> Option<&str> {
        self.open_downtime.as_ref().map(|d| d.reason.as_str())
    }

    /// Name of the current product, if known: the PLC's, else the running job's.
    pub fn product_name(&self) -> Option<&str> {
        self.product().map(|p| p.name.as_str())
    }

    /// The product the PLC reports, if it reports one the plant model knows.
    pub fn plc_product(&self) -> Option<&Product> {
        self.product.and_then(|c| self.model().products.get(&c))
    }

    /// The product parts are counted as: the PLC's (it wins), else the running job's.
    fn product(&self) -> Option<&Product> {
        self.plc_product().or(self.job_product.as_ref())
    }

    /// Sets (or clears) the product of the line's running job, used for parts counted
    /// while the PLC reports no product.
    pub fn set_job_product(&mut self, product: Option<Product>) {
        self.job_product = product;
    }

    /// The product of the line's running job, if set.
    pub fn job_product(&self) -> Option<&Product> {
        self.job_product.as_ref()
    }

    /// Event time accounted so far.
    pub fn head(&self) -> Option<EpochMs> {
        self.head
    }

    /// The tally of a window.
    pub fn window(&self, window: WindowName) -> Tally {
        match window {
            WindowName::Shift => self.shift.sum,
            WindowName::Today => self.today.sum,
            rolling => self.rolling.sum(rolling).unwrap_or_default(),
        }
    }

    /// Bounds of the shift the shift window sums.
    pub fn shift_bounds(&self) -> Option<(EpochMs, EpochMs)> {
        self.shift.bounds
    }

    /// Applies one sample received at wall time `wall_now`.
    pub fn apply(&mut self, sample: Sample, wall_now: EpochMs, out: &mut Vec<MachineEvent>) -> SampleOutcome {
        let Some(signal) = self.signals.get(sample.signal) else {
            return SampleOutcome::WrongValue;
        };
        match signal.last_ts {
            Some(last) if sample.ts == last => return SampleOutcome::Duplicate,
            Some(last) if sample.ts < last => return SampleOutcome::Late,
            _ => {}
        }
        let Some(effect) = self.effect_of(sample) else {
            return SampleOutcome::WrongValue;
        };
        let previous_ts = signal.last_ts;
        self.signals[sample.signal].last_ts = Some(sample.ts);
        self.heard_from(sample.ts, wall_now, out);
        match effect {
            Effect::Code(s) => self.code_state = Some(s),
            Effect::Running(b) => self.running = Some(b),
            Effect::Fault(b) => self.fault = Some(b),
            Effect::FaultCode(c) => self.fault_code = Some(c),
            Effect::Product(c) => self.product = Some(c),
            Effect::Counter(def, raw) => {
                let parts = match def.mode {
                    CounterMode::Increment => raw,
                    CounterMode::Cumulative => {
                        self.counter_step(sample.signal, def.width, (previous_ts, sample.ts), raw, out)
                    }
                };
                self.signals[sample.signal].counter_raw = Some(raw);
                self.count(sample.ts, parts, def, out);
            }
        }
        out.push(MachineEvent::TagApplied {
            signal: sample.signal,
            ts: sample.ts,
            value: sample.value,
        });
        self.settle_state(out);
        SampleOutcome::Applied
    }

    /// A sign of life from the source without a value change (keep-alive).
    pub fn heartbeat(&mut self, ts: EpochMs, wall_now: EpochMs, out: &mut Vec<MachineEvent>) {
        self.heard_from(ts, wall_now, out);
        self.settle_state(out);
    }

    /// Wall-clock tick: turns the machine `unknown` when its source went quiet for
    /// `stale_after`, and keeps its clock running while it is.
    ///
    /// The silence is only judged now, but nothing has been accounted since the last data
    /// (the clock stands still until the next sample or heartbeat): so the machine is
    /// `unknown` from its last data, and the whole silent span is booked as communication
    /// lost, never as the state it was last seen in.
    pub fn tick(&mut self, wall_now: EpochMs, out: &mut Vec<MachineEvent>) {
        let Some(head) = self.head else { return };
        let stale_after = self.model().stale_after_ms;
        let silent = wall_now - self.last_received_wall;
        if self.resuming {
            if silent > stale_after {
                // Restored but nothing has come since: resume now, as unknown.
                self.resume_silent(head, wall_now, out);
            }
            return;
        }
        if !self.stale && silent > stale_after {
            self.go_silent(out);
        }
        if self.stale {
            self.advance(self.last_seen + silent, out);
        }
    }

    /// The source knows its connection is gone (at wall time `wall_now`): the machine is
    /// `unknown` at once, from its last data, instead of after `stale_after`. Data or a
    /// heartbeat brings it back, as after staleness.
    pub fn comms_lost(&mut self, wall_now: EpochMs, out: &mut Vec<MachineEvent>) {
        let Some(head) = self.head else {
            // No data yet: already unknown, and no clock to run.
            self.mark_gap();
            return;
        };
        if self.resuming {
            self.resume_silent(head, wall_now, out);
            return;
        }
        if !self.stale {
            self.go_silent(out);
        }
        self.advance(self.last_seen + (wall_now - self.last_received_wall), out);
    }

    /// The open interval so far, for checkpointing; `None` when nothing is open.
    pub fn open_interval(&self) -> Option<MachineEvent> {
        let (since, head) = (self.state_since?, self.head?);
        (head > since).then_some(MachineEvent::Interval {
            start: since,
            end: head,
            state: self.state,
        })
    }

    /// Picks up from stored history after a restart: windows refilled by the same
    /// accounting as live time, tag baselines restored so no part is lost or doubled.
    pub fn restore(&mut self, history: &MachineHistory, wall_now: EpochMs) {
        for iv in &history.intervals {
            let mut at = iv.start;
            while at < iv.end {
                let (end, planned) = self.segment_end(at, iv.end);
                self.add(at, Tally::of_time(iv.state, planned, iv.micro_stop, end - at));
                at = end;
            }
        }
        for p in &history.parts {
            self.add(p.at, p.tally);
        }
        for &(signal, ts, value) in &history.tags {
            let Some(effect) = self.effect_of(Sample { signal, value, ts }) else {
                continue;
            };
            let state = &mut self.signals[signal];
            state.last_ts = Some(ts);
            match effect {
                Effect::Code(s) => self.code_state = Some(s),
                Effect::Running(b) => self.running = Some(b),
                Effect::Fault(b) => self.fault = Some(b),
                Effect::FaultCode(c) => self.fault_code = Some(c),
                Effect::Product(c) => self.product = Some(c),
                Effect::Counter(_, raw) => state.counter_raw = Some(raw),
            }
        }
        if let Some(last) = history.intervals.last() {
            self.head = Some(last.end);
            self.last_seen = last.end;
            self.state = last.state;
            self.resuming = true;
        }
        self.open_downtime = history.open_downtime.clone().map(|(start, reason)| OpenDowntime {
            start,
            reason,
            down_by_bucket: Vec::new(),
            tracking: false,
        });
        self.last_received_wall = wall_now;
        // Counters moved unseen while MS5 was not running.
        self.mark_gap();
    }

    /// A parts correction a person logged at `at` (a manual reject, or the void of one):
    /// added to every window that holds `at`, like parts counted at that instant, without
    /// moving the machine's clock. The store keeps the correction itself, so nothing is
    /// reported for the telemetry writer.
    pub fn correct(&mut self, at: EpochMs, tally: Tally) {
        self.add(at, tally);
    }

    /// Re-derives running sums after a restart (see [`RollingWindows::repair`]).
    pub fn repair(&mut self) {
        self.rolling.repair();
    }

    fn effect_of(&self, sample: Sample) -> Option<Effect> {
        let def = self.model().signals.get(sample.signal)?;
        Some(match &def.kind {
            SignalKind::StateCode(map) => Effect::Code(state_from_code(map, sample.value.as_i64()?)?),
            SignalKind::RunningBit => Effect::Running(sample.value.as_bool()?),
            SignalKind::FaultBit => Effect::Fault(sample.value.as_bool()?),
            SignalKind::FaultCode => Effect::FaultCode(sample.value.as_i64()?),
            SignalKind::ProductCode => Effect::Product(sample.value.as_i64()?),
            SignalKind::Counter(c) => {
                let raw = sample.value.as_u64()?;
                if c.width.max().is_some_and(|max| raw > max) {
                    return None;
                }
                Effect::Counter(*c, raw)
            }
        })
    }

    /// Records that the source spoke at `ts`, and moves the clock there.
    fn heard_from(&mut self, ts: EpochMs, wall_now: EpochMs, out: &mut Vec<MachineEvent>) {
        if self.resuming {
            self.resume_at(ts.max(self.head.unwrap_or(ts)));
        } else {
            self.advance(ts, out);
        }
        self.last_seen = self.last_seen.max(ts);
        self.last_received_wall = wall_now;
        self.stale = false;
    }

    fn resume_at(&mut self, at: EpochMs) {
        self.resuming = false;
        self.head = Some(at);
        self.state_since = Some(at);
    }

    /// Restored from the store, and no data came: the machine resumes at `wall_now` as
    /// `unknown` (the time MS5 was not running is booked nowhere), its clock running on
    /// with the wall clock from there.
    fn resume_silent(&mut self, head: EpochMs, wall_now: EpochMs, out: &mut Vec<MachineEvent>) {
        let at = wall_now.max(head);
        self.resume_at(at);
        self.last_seen = at;
        self.last_received_wall = wall_now;
        self.go_silent(out);
    }

    /// Communication is lost: `unknown` from the head (the last data), and every counter's
    /// next step is checked for plausibility.
    fn go_silent(&mut self, out: &mut Vec<MachineEvent>) {
        self.stale = true;
        self.mark_gap();
        self.settle_state(out);
    }

    fn mark_gap(&mut self) {
        for s in &mut self.signals {
            s.across_gap = true;
        }
    }

    /// Parts of one cumulative counter step to `raw`, read at `at.1` (the previous reading
    /// was at `at.0`): a step across a gap in the data that counts more than the machine
    /// could have made is a reset that counts nothing. Resets are reported.
    fn counter_step(
        &mut self,
        signal: SignalIdx,
        width: CounterWidth,
        at: (Option<EpochMs>, EpochMs),
        raw: u64,
        out: &mut Vec<MachineEvent>,
    ) -> u64 {
        let ideal_cycle = self.product().map_or(self.model().ideal_cycle_ms, |p| p.ideal_cycle_ms);
        let state = &mut self.signals[signal];
        let previous = state.counter_raw;
        let mut delta = cumulative_delta(previous, raw, width);
        let gap_ms = at.0.map_or(0, |p| at.1 - p);
        if std::mem::take(&mut state.across_gap) {
            delta = across_gap(delta, gap_ms, ideal_cycle);
        }
        let kind = match delta.kind {
            DeltaKind::Reset => CounterReset::Decrease,
            DeltaKind::ImplausibleJump => CounterReset::ImplausibleJump,
            DeltaKind::Baseline | DeltaKind::Normal | DeltaKind::Rollover => return delta.parts,
        };
        out.push(MachineEvent::CounterReset {
            signal,
            previous: previous.unwrap_or(0),
            current: raw,
            gap_ms,
            kind,
        });
        delta.parts
    }

    fn derived_state(&self) -> MachineState {
        if self.stale {
            return MachineState::Unknown;
        }
        let has_code = self
            .model()
            .signals
            .iter()
            .any(|s| matches!(s.kind, SignalKind::StateCode(_)));
        if has_code {
            return self.code_state.unwrap_or(MachineState::Unknown);
        }
        match (self.running, self.fault) {
            (None, None) => MachineState::Unknown,
            (r, f) => state_from_bits(r.unwrap_or(false), f.unwrap_or(false)),
        }
    }

    /// Brings `state` in line with the tags, at the current head.
    fn settle_state(&mut self, out: &mut Vec<MachineEvent>) {
        let new = self.derived_state();
        let Some(at) = self
            .head
            .or(Some(self.last_seen).filter(|_| new != MachineState::Unknown))
        else {
            return;
        };
        if self.head.is_none() {
            // First known state: the clock starts here.
            self.head = Some(at);
            self.state = new;
            self.state_since = Some(at);
            self.open_or_update_downtime(at, out);
            return;
        }
        if new != self.state {
            if let Some(since) = self.state_since
                && at > since
            {
                out.push(MachineEvent::Interval {
                    start: since,
                    end: at,
                    state: self.state,
                });
            }
            self.state = new;
            self.state_since = Some(at);
        }
        if new.is_unplanned_stop() {
            self.open_or_update_downtime(at, out);
        } else if let Some(dt) = self.open_downtime.take() {
            self.close_downtime(dt, at, out);
        }
    }

    fn open_or_update_downtime(&mut self, at: EpochMs, out: &mut Vec<MachineEvent>) {
        if !self.state.is_unplanned_stop() {
            return;
        }
        let model = self.model();
        let reason = reason_for(self.state, self.fault_code, &model.fault_codes, &model.idle_codes);
        match &mut self.open_downtime {
            Some(dt) => {
                if let Some(reason) = updated_reason(&dt.reason, &reason) {
                    dt.reason = reason.clone();
                    out.push(MachineEvent::DowntimeOpen {
                        start: dt.start,
                        reason,
                    });
                }
            }
            None => {
                self.open_downtime = Some(OpenDowntime {
                    start: at,
                    reason: reason.clone(),
                    down_by_bucket: Vec::new(),
                    tracking: true,
                });
                out.push(MachineEvent::DowntimeOpen { start: at, reason });
            }
        }
    }

    fn close_downtime(&mut self, dt: OpenDowntime, at: EpochMs, out: &mut Vec<MachineEvent>) {
        // A loss of communication is not known to be a stop, let alone a short one.
        let micro_stop =
            dt.reason != REASON_COMMS_LOST && is_micro_stop(dt.start, at, self.model().micro_stop_threshold_ms);
        if micro_stop && dt.tracking {
            for &(bucket, ms) in &dt.down_by_bucket {
                self.add(bucket, Tally::reclassified_as_micro_stop(ms));
            }
        }
        out.push(MachineEvent::DowntimeEnded {
            start: dt.start,
            end: at,
            reason: dt.reason,
            micro_stop,
        });
    }

    /// Accounts the time from the head to `to` to the current state.
    fn advance(&mut self, to: EpochMs, _out: &mut Vec<MachineEvent>) {
        let Some(mut at) = self.head else { return };
        if to <= at {
            return;
        }
        let state = self.state;
        let threshold = self.model().micro_stop_threshold_ms;
        while at < to {
            let (end, planned) = self.segment_end(at, to);
            let t = Tally::of_time(state, planned, false, end - at);
            self.add(at, t);
            // Time without data stays down even if the stop ends short (see Tally::of_time).
            if let Some(dt) = &mut self.open_downtime
                && dt.tracking
                && t.down_ms > t.comms_lost_ms
            {
                let bucket = bucket_start(at);
                let down = t.down_ms - t.comms_lost_ms;
                match dt.down_by_bucket.last_mut() {
                    Some((b, ms)) if *b == bucket => *ms += down,
                    _ => dt.down_by_bucket.push((bucket, down)),
                }
                if end - dt.start >= threshold {
                    // Too long to become a micro-stop: stop remembering buckets.
                    dt.tracking = false;
                    dt.down_by_bucket = Vec::new();
                }
            }
            at = end;
        }
        self.head = Some(to);
    }

    /// The end of the segment starting at `at` within which bucket, calendar, shift and
    /// day do not change (capped at `to`), and whether that segment is planned time.
    fn segment_end(&mut self, at: EpochMs, to: EpochMs) -> (EpochMs, bool) {
        let span = self.calendar_at(at);
        let end = to.min(bucket_start(at) + BUCKET_MS).min(span.until);
        (end, span.planned)
    }

    fn calendar_at(&mut self, at: EpochMs) -> CalendarSpan {
        if at >= self.calendar.from && at < self.calendar.until {
            return self.calendar;
        }
        let cal = &self.plant.calendar;
        let (planned, planned_until) = cal.planned_at(at);
        let shift = cal.shift_at(at).map(|s| (s.start, s.end));
        let shift_change = match shift {
            Some((_, end)) => end,
            None => cal.next_shift_start(at).unwrap_or(EpochMs::MAX),
        };
        let day = (cal.day_start(at), cal.next_day_start(at));
        self.calendar = CalendarSpan {
            from: at,
            until: planned_until.min(shift_change).min(day.1),
            planned,
            shift,
            day,
        };
        self.calendar
    }

    /// Adds a tally at `at` to every window.
    fn add(&mut self, at: EpochMs, t: Tally) {
        let span = if at >= self.calendar.from && at < self.calendar.until {
            self.calendar
        } else {
            // An instant off the cached span (late parts, history): look it up without
            // disturbing the cache the live path relies on.
            let saved = self.calendar;
            let span = self.calendar_at(at);
            self.calendar = saved;
            span
        };
        self.rolling.add(at, t);
        self.shift.add(at, span.shift, t);
        self.today.add(at, Some(span.day), t);
    }

    fn count(&mut self, at: EpochMs, parts: u64, def: CounterDef, out: &mut Vec<MachineEvent>) {
        if parts == 0 {
            return;
        }
        let parts = i64::try_from(parts).unwrap_or(i64::MAX);
        let product = self.product();
        let ideal_cycle = product.map_or(self.model().ideal_cycle_ms, |p| p.ideal_cycle_ms);
        let total = parts * def.adds_total;
        let tally = Tally::of_parts(total, parts * def.adds_good, total * ideal_cycle);
        let product = product.map(|p| p.name.clone());
        self.add(at, tally);
        out.push(MachineEvent::Parts { at, product, tally });
    }
}

#[derive(Debug, Clone, Copy)]
enum Effect {
    Code(MachineState),
    Running(bool),
    Fault(bool),
    FaultCode(i64),
    Product(i64),
    Counter(CounterDef, u64),
}

#[cfg(test)]
mod tests;
