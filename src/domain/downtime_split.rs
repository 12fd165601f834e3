//! Splitting a stop: when two causes followed each other in one long stop (a jam, then
//! waiting for the fitter), an operator cuts it in two at the moment the cause changed,
//! and each part carries its own reason. The machine was down all along, so OEE does not
//! change; only the Pareto's attribution does.

use super::EpochMs;

/// Why a stop cannot be split where asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// The stop is still going on: its end is not known yet.
    #[error("the stop is still going on; split it once the machine runs again")]
    StillOpen,
    /// The instant is not strictly inside the stop.
    #[error("`at` must be after the stop's start and before its end")]
    Outside,
}

/// Checks that a stop `[start, end)` can be split at `at`: it has ended, and `at` lies
/// strictly inside it (both parts last longer than nothing).
pub fn check_split(start: EpochMs, end: Option<EpochMs>, at: EpochMs) -> Result<(), SplitError> {
    let end = end.ok_or(SplitError::StillOpen)?;
    if at <= start || at >= end {
        return Err(SplitError::Outside);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_splits_strictly_inside_once_it_has_ended() {
        // A stop 10:00-10:10 (ms from an origin): (end, at, verdict)
        let (start, end) = (1_000, 601_000);
        let table = [
            (Some(end), 301_000, Ok(())),
            (Some(end), start + 1, Ok(())),
            (Some(end), end - 1, Ok(())),
            (Some(end), start, Err(SplitError::Outside)),
            (Some(end), end, Err(SplitError::Outside)),
            (Some(end), start - 5, Err(SplitError::Outside)),
            (Some(end), end + 5, Err(SplitError::Outside)),
            (None, 301_000, Err(SplitError::StillOpen)),
        ];
        for (end, at, want) in table {
            assert_eq!(check_split(start, end, at), want, "{end:?} {at}");
        }
    }
}
