//! The buckets of an OEE series: 15 minutes or an hour, starting on the plant-local wall
//! clock (so hourly buckets start on the local hour in a +05:30 zone too, and an hour the
//! clocks repeat is two buckets).

use chrono::{Offset, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::EpochMs;
use crate::domain::snapshot::utc;

/// The width of the buckets of an OEE series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Bucket {
    /// 15 minutes.
    #[serde(rename = "15m")]
    M15,
    /// One hour.
    #[serde(rename = "1h")]
    H1,
}

impl Bucket {
    /// Reads `15m` or `1h`.
    pub fn parse(s: &str) -> Option<Bucket> {
        match s {
            "15m" => Some(Bucket::M15),
            "1h" => Some(Bucket::H1),
            _ => None,
        }
    }

    /// Width, ms.
    pub fn ms(self) -> i64 {
        match self {
            Bucket::M15 => 15 * 60_000,
            Bucket::H1 => 3_600_000,
        }
    }
}

fn offset_ms(tz: Tz, t: EpochMs) -> i64 {
    let off = tz.offset_from_utc_datetime(&utc(t).naive_utc());
    i64::from(off.fix().local_minus_utc()) * 1000
}

/// Splits `[from, to)` at plant-local wall-clock multiples of `width_ms` (so hourly
/// buckets start on the local hour in a +05:30 zone too); the first and last bucket are
/// clipped to the span. Empty when `to <= from`.
pub fn buckets(tz: Tz, from: EpochMs, to: EpochMs, width_ms: i64) -> Vec<(EpochMs, EpochMs)> {
    let mut out = Vec::new();
    let mut t = from;
    while t < to && width_ms > 0 {
        let off = offset_ms(tz, t);
        let next_local = ((t + off).div_euclid(width_ms) + 1) * width_ms;
        // An offset change inside the bucket (DST) moves its end by the change.
        let mut end = next_local - off;
        let after = offset_ms(tz, end - 1);
        if after != off && next_local - after > t {
            end = next_local - after;
        }
        let end = end.max(t + 1).min(to);
        out.push((t, end));
        t = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::domain::production::period::local_time;

    const H: i64 = 3_600_000;

    fn at(s: &str) -> EpochMs {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_millis())
            .unwrap_or(0)
    }

    #[test]
    fn buckets_start_on_the_local_wall_clock_and_follow_dst() {
        let m = 60_000;
        // Kolkata is +05:30: hourly buckets start on the local hour, i.e. at :30 UTC.
        // 03:10 to 05:45 UTC = 08:40 to 11:15 local → 08:40-09:00, 09-10, 10-11, 11-11:15.
        let kolkata = chrono_tz::Asia::Kolkata;
        let got = buckets(
            kolkata,
            at("2026-11-27T03:10:00Z"),
            at("2026-11-27T05:45:00Z"),
            Bucket::H1.ms(),
        );
        let local: Vec<(String, String)> = got
            .iter()
            .map(|&(a, b)| (local_time(kolkata, a), local_time(kolkata, b)))
            .collect();
        assert_eq!(
            local.iter().map(|(a, _)| &a[11..16]).collect::<Vec<_>>(),
            vec!["08:40", "09:00", "10:00", "11:00"]
        );
        assert_eq!(local.last().map(|(_, b)| &b[11..16]), Some("11:15"));
        // Berlin, fall back: 00:00 to 04:00 local on 25 Oct is 5 real hours, 5 buckets of 1 h.
        let berlin = chrono_tz::Europe::Berlin;
        let got = buckets(
            berlin,
            at("2026-10-25T00:00:00+02:00"),
            at("2026-10-25T04:00:00+01:00"),
            Bucket::H1.ms(),
        );
        assert_eq!(got.len(), 5);
        assert!(got.iter().all(|(a, b)| b - a == H));
        // 15-minute buckets over 1 h in UTC: 4; they tile the span.
        let (a, b) = (at("2026-11-27T06:00:00Z"), at("2026-11-27T07:00:00Z"));
        let q = buckets(chrono_tz::UTC, a, b, Bucket::M15.ms());
        assert_eq!(q.len(), 4);
        assert!(q.windows(2).all(|w| w[0].1 == w[1].0));
        assert_eq!((q[0].0, q[3].1, q[1].1 - q[1].0), (a, b, 15 * m));
        assert!(buckets(chrono_tz::UTC, b, a, Bucket::M15.ms()).is_empty());
    }
}
