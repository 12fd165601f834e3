//! Jobs (work orders): a target quantity of one product on one line. Their states and
//! the transitions between them, the spans they ran, and their progress.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::EpochMs;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Made, not yet handed to the floor.
    Planned,
    /// Handed to the floor; may start.
    Released,
    /// Being made (at most one per line).
    Running,
    /// Stopped for now; may run again.
    Paused,
    /// Done.
    Completed,
    /// Dropped.
    Cancelled,
}

impl JobState {
    /// Every state.
    pub const ALL: [JobState; 6] = [
        JobState::Planned,
        JobState::Released,
        JobState::Running,
        JobState::Paused,
        JobState::Completed,
        JobState::Cancelled,
    ];

    /// The name in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Planned => "planned",
            JobState::Released => "released",
            JobState::Running => "running",
            JobState::Paused => "paused",
            JobState::Completed => "completed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Parses a state name.
    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|j| j.as_str() == s)
    }

    /// Whether the job can still change (not completed or cancelled).
    pub fn is_open(self) -> bool {
        !matches!(self, JobState::Completed | JobState::Cancelled)
    }
}

/// What a supervisor asks of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobAction {
    /// planned → released.
    Release,
    /// released or paused → running.
    Start,
    /// running → paused.
    Pause,
    /// running or paused → completed.
    Complete,
    /// planned, released or paused → cancelled.
    Cancel,
}

impl JobAction {
    /// The name in routes and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            JobAction::Release => "release",
            JobAction::Start => "start",
            JobAction::Pause => "pause",
            JobAction::Complete => "complete",
            JobAction::Cancel => "cancel",
        }
    }
}

/// A transition the job's state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("job {id} is {}; it cannot {} (allowed from {})", .state.as_str(), .action.as_str(), allowed_from(*.action))]
pub struct TransitionError {
    /// The job.
    pub id: i64,
    /// Its current state.
    pub state: JobState,
    /// What was asked.
    pub action: JobAction,
}

fn allowed_from(action: JobAction) -> &'static str {
    match action {
        JobAction::Release => "planned",
        JobAction::Start => "released or paused",
        JobAction::Pause => "running",
        JobAction::Complete => "running or paused",
        JobAction::Cancel => "planned, released or paused",
    }
}

/// The state `action` takes a job in `state` to.
pub fn transition(id: i64, state: JobState, action: JobAction) -> Result<JobState, TransitionError> {
    use JobAction as A;
    use JobState as S;
    match (action, state) {
        (A::Release, S::Planned) => Ok(S::Released),
        (A::Start, S::Released | S::Paused) => Ok(S::Running),
        (A::Pause, S::Running) => Ok(S::Paused),
        (A::Complete, S::Running | S::Paused) => Ok(S::Completed),
        (A::Cancel, S::Planned | S::Released | S::Paused) => Ok(S::Cancelled),
        _ => Err(TransitionError { id, state, action }),
    }
}

/// The spans `[from, to)` a job ran, from its state changes `(at, state entered)` in
/// order; a span still running ends at `now`.
pub fn running_spans(changes: &[(EpochMs, JobState)], now: EpochMs) -> Vec<(EpochMs, EpochMs)> {
    let mut spans = Vec::new();
    let mut open: Option<EpochMs> = None;
    for &(at, state) in changes {
        match (open, state) {
            (None, JobState::Running) => open = Some(at),
            (Some(from), s) if s != JobState::Running => {
                if at > from {
                    spans.push((from, at));
                }
                open = None;
            }
            _ => {}
        }
    }
    if let Some(from) = open
        && now > from
    {
        spans.push((from, now));
    }
    spans
}

/// How far a job has come.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JobProgress {
    /// Good parts made while the job ran.
    pub good: i64,
    /// Rejected parts.
    pub reject: i64,
    /// All parts.
    pub total: i64,
    /// The target quantity (good parts).
    pub target: i64,
    /// Good parts still to make (0 once the target is met).
    pub remaining: i64,
    /// good ÷ target, 0 to 1 and beyond when over-produced.
    pub fraction: f64,
    /// Good parts per hour over the last stretch of running time (`None` before any).
    pub rate_per_hour: Option<f64>,
    /// When the target will be met at that rate, while running (`None` otherwise).
    #[schema(value_type = Option<String>)]
    pub eta: Option<chrono::DateTime<chrono::Utc>>,
    /// Running time so far, seconds.
    pub run_s: f64,
}

/// What a job's progress is worked out from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProgressInputs {
    /// Target good parts.
    pub target: i64,
    /// Good parts made over its running spans.
    pub good: i64,
    /// All parts made over its running spans.
    pub total: i64,
    /// Good parts made over the last `recent_ms` of running time (the rate).
    pub recent_good: i64,
    /// That stretch of running time, ms.
    pub recent_ms: i64,
    /// All its running time, ms.
    pub run_ms: i64,
    /// Whether it runs now (only then is there an ETA).
    pub running: bool,
}

/// The progress of a job, with the ETA from `now` while it runs.
pub fn progress(i: ProgressInputs, now: EpochMs) -> JobProgress {
    let ProgressInputs {
        target,
        good,
        total,
        recent_good,
        recent_ms,
        run_ms,
        running,
    } = i;
    let remaining = (target - good).max(0);
    let rate_per_ms = (recent_ms > 0 && recent_good > 0).then(|| recent_good as f64 / recent_ms as f64);
    let eta = match rate_per_ms {
        Some(r) if running => {
            let ms = (remaining as f64 / r).ceil() as i64;
            chrono::DateTime::from_timestamp_millis(now.saturating_add(ms))
        }
        _ => None,
    };
    JobProgress {
        good,
        reject: total - good,
        total,
        target,
        remaining,
        fraction: if target > 0 { good as f64 / target as f64 } else { 0.0 },
        rate_per_hour: rate_per_ms.map(|r| r * 3_600_000.0),
        eta,
        run_s: run_ms as f64 / 1000.0,
    }
}

/// The last `window_ms` of running time within `spans`, as spans (for the current rate).
pub fn recent_spans(spans: &[(EpochMs, EpochMs)], window_ms: i64) -> Vec<(EpochMs, EpochMs)> {
    let mut left = window_ms;
    let mut out = Vec::new();
    for &(from, to) in spans.iter().rev() {
        if left <= 0 {
            break;
        }
        let start = from.max(to - left);
        out.push((start, to));
        left -= to - start;
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use JobAction as A;
    use JobState as S;

    #[test]
    fn transitions_follow_the_job_life() {
        // (from, action, to or refused)
        let table = [
            (S::Planned, A::Release, Some(S::Released)),
            (S::Planned, A::Start, None),
            (S::Released, A::Start, Some(S::Running)),
            (S::Running, A::Pause, Some(S::Paused)),
            (S::Paused, A::Start, Some(S::Running)),
            (S::Running, A::Complete, Some(S::Completed)),
            (S::Paused, A::Complete, Some(S::Completed)),
            (S::Running, A::Cancel, None),
            (S::Released, A::Cancel, Some(S::Cancelled)),
            (S::Completed, A::Start, None),
            (S::Cancelled, A::Release, None),
            (S::Released, A::Pause, None),
        ];
        for (from, action, to) in table {
            assert_eq!(transition(7, from, action).ok(), to, "{from:?} {action:?}");
        }
        let err = transition(7, S::Completed, A::Pause).unwrap_err();
        assert_eq!(
            err.to_string(),
            "job 7 is completed; it cannot pause (allowed from running)"
        );
    }

    #[test]
    fn running_spans_come_from_the_state_changes() {
        let changes = [
            (0, S::Planned),
            (10, S::Released),
            (100, S::Running),
            (400, S::Paused),
            (500, S::Running),
            (900, S::Completed),
        ];
        assert_eq!(running_spans(&changes, 2_000), vec![(100, 400), (500, 900)]);
        // still running: the span ends now
        assert_eq!(running_spans(&changes[..5], 700), vec![(100, 400), (500, 700)]);
        assert_eq!(running_spans(&changes[..2], 700), vec![]);
    }

    #[test]
    fn the_rate_looks_at_the_last_stretch_of_running_time() {
        let spans = [(0, 600_000), (1_200_000, 1_500_000)];
        // 15 min = 900,000 ms: the last 300,000 of the second span and the last 600,000 of the first
        assert_eq!(
            recent_spans(&spans, 900_000),
            vec![(0, 600_000), (1_200_000, 1_500_000)]
        );
        assert_eq!(
            recent_spans(&spans, 400_000),
            vec![(500_000, 600_000), (1_200_000, 1_500_000)]
        );
    }

    #[test]
    fn progress_rate_and_eta_are_hand_computed() {
        // target 1,000; 400 good of 410 made; 300 good in the last 15 min (900 s)
        // rate = 300 / 900 s = 1,200 / h; remaining 600 → 1,800 s → ETA now + 30 min
        let now = 1_772_434_800_000; // 2026-03-02T07:00:00Z
        let inputs = ProgressInputs {
            target: 1_000,
            good: 400,
            total: 410,
            recent_good: 300,
            recent_ms: 900_000,
            run_ms: 3_600_000,
            running: true,
        };
        let p = progress(inputs, now);
        assert_eq!(p.reject, 10);
        assert_eq!(p.remaining, 600);
        assert_eq!(p.fraction, 0.4);
        assert_eq!(p.rate_per_hour, Some(1_200.0));
        assert_eq!(
            p.eta.map(|t| t.to_rfc3339()),
            Some("2026-03-02T07:30:00+00:00".to_owned())
        );
        assert_eq!(p.run_s, 3_600.0);
        // paused: the rate stays, no ETA; nothing made yet: neither
        let paused = ProgressInputs {
            running: false,
            ..inputs
        };
        assert_eq!(progress(paused, now).eta, None);
        let idle = progress(
            ProgressInputs {
                target: 1_000,
                running: true,
                ..ProgressInputs::default()
            },
            now,
        );
        assert_eq!((idle.rate_per_hour, idle.eta), (None, None));
        // over target: nothing remains, the ETA is now
        let over = progress(
            ProgressInputs {
                target: 100,
                good: 120,
                total: 120,
                recent_good: 60,
                recent_ms: 60_000,
                run_ms: 120_000,
                running: true,
            },
            now,
        );
        assert_eq!((over.remaining, over.eta.map(|t| t.timestamp_millis())), (0, Some(now)));
    }
}
