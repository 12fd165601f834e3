//! What a page says, in each pager format, and how deliveries back off.
//!
//! - generic JSON, signed: `X-MS5-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`,
//!   so a receiver can check both origin and freshness (replays carry an old `t`);
//! - Slack-compatible incoming webhook (`{"text": …}`);
//! - PagerDuty Events API v2: `trigger` on escalation, `resolve` when the ticket is resolved or
//!   cancelled, `dedup_key` = the ticket, so PagerDuty folds every level into one incident.

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;

use super::EpochMs;

/// Header carrying the generic format's signature.
pub const SIGNATURE_HEADER: &str = "X-MS5-Signature";
/// Header carrying the delivery's idempotency key (all formats).
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// Pager formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PagerKind {
    /// Signed generic JSON.
    Generic,
    /// Slack-compatible incoming webhook.
    Slack,
    /// PagerDuty Events API v2.
    Pagerduty,
    /// Written to the service log (demos, and a fallback that needs no network).
    Log,
}

/// What happened to the ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PageAction {
    /// An escalation level fired.
    Escalated,
    /// The ticket was resolved or cancelled.
    Resolved,
}

/// The facts a page carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageEvent {
    /// Escalated or resolved.
    pub action: PageAction,
    /// Ticket id.
    pub ticket: i64,
    /// Line id.
    pub line: String,
    /// Machine id, if any.
    pub machine: Option<String>,
    /// Category (`maintenance`, …).
    pub category: String,
    /// Priority (`low` … `critical`).
    pub priority: String,
    /// Escalation level that fired (0 for resolve).
    pub level: u32,
    /// What the operator wrote.
    pub description: String,
    /// When the ticket was raised.
    pub raised_at: EpochMs,
    /// When this happened.
    pub at: EpochMs,
}

fn iso(ms: EpochMs) -> String {
    super::snapshot::utc(ms).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One line saying what the page is about.
pub fn summary(e: &PageEvent) -> String {
    let place = match &e.machine {
        Some(m) => format!("{} / {m}", e.line),
        None => e.line.clone(),
    };
    match e.action {
        PageAction::Escalated => format!(
            "Andon #{} L{} [{} {}] {place}: {}",
            e.ticket, e.level, e.priority, e.category, e.description
        ),
        PageAction::Resolved => format!(
            "Andon #{} resolved [{}] {place}: {}",
            e.ticket, e.category, e.description
        ),
    }
}

/// The generic JSON body.
pub fn generic_body(e: &PageEvent) -> String {
    json!({
        "event": e.action,
        "ticket": e.ticket,
        "line": e.line,
        "machine": e.machine,
        "category": e.category,
        "priority": e.priority,
        "level": e.level,
        "description": e.description,
        "raised_at": iso(e.raised_at),
        "at": iso(e.at),
        "summary": summary(e),
    })
    .to_string()
}

/// The Slack-compatible body.
pub fn slack_body(e: &PageEvent) -> String {
    let icon = match (e.action, e.priority.as_str()) {
        (PageAction::Resolved, _) => ":white_check_mark:",
        (_, "critical") => ":rotating_light:",
        (_, "high") => ":red_circle:",
        _ => ":large_yellow_circle:",
    };
    json!({ "text": format!("{icon} {}", summary(e)) }).to_string()
}

/// PagerDuty severities from MS5 priorities.
fn pagerduty_severity(priority: &str) -> &'static str {
    match priority {
        "critical" => "critical",
        "high" => "error",
        "medium" => "warning",
        _ => "info",
    }
}

/// The PagerDuty Events v2 body.
pub fn pagerduty_body(e: &PageEvent, routing_key: &str) -> String {
    let dedup_key = format!("ms5-ticket-{}", e.ticket);
    match e.action {
        PageAction::Escalated => json!({
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {
                "summary": summary(e),
                "source": e.machine.as_deref().unwrap_or(&e.line),
                "severity": pagerduty_severity(&e.priority),
                "timestamp": iso(e.at),
                "component": e.machine,
                "group": e.line,
                "class": e.category,
                "custom_details": { "ticket": e.ticket, "level": e.level, "description": e.description, "raised_at": iso(e.raised_at) },
            },
        }),
        PageAction::Resolved => json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": dedup_key,
        }),
    }
    .to_string()
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>`.
pub fn sign(secret: &[u8], unix_seconds: i64, body: &str) -> String {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(format!("{unix_seconds}.{body}").as_bytes());
    format!("t={unix_seconds},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Not `t=…,v1=…`.
    #[error("malformed signature header")]
    Malformed,
    /// Older (or newer) than the tolerance: a replay, or a skewed clock.
    #[error("signature timestamp outside the tolerance")]
    Stale,
    /// Does not match.
    #[error("signature does not match")]
    Mismatch,
}

/// Checks a signature header as a receiver would (constant-time comparison).
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &str,
    now_seconds: i64,
    tolerance_seconds: i64,
) -> Result<(), SignatureError> {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(SignatureError::Malformed);
    };
    if (now_seconds - t).abs() > tolerance_seconds {
        return Err(SignatureError::Stale);
    }
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(format!("{t}.{body}").as_bytes());
    mac.verify_slice(&v1).map_err(|_| SignatureError::Mismatch)
}

/// Delay before retry number `attempt` (1-based): exponential from `base_ms`, capped at
/// `max_ms`, with full jitter (`jitter` in [0, 1) scales it), so retries of many deliveries
/// do not arrive together.
pub fn backoff_ms(attempt: u32, base_ms: i64, max_ms: i64, jitter: f64) -> i64 {
    let exp = base_ms
        .saturating_mul(1i64 << attempt.saturating_sub(1).min(30))
        .min(max_ms);
    // Never below half the step, so a retry storm cannot reach zero delay.
    exp / 2 + ((exp / 2) as f64 * jitter.clamp(0.0, 1.0)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: PageAction) -> PageEvent {
        PageEvent {
            action,
            ticket: 12,
            line: "line-1".into(),
            machine: Some("l1-filler".into()),
            category: "maintenance".into(),
            priority: "high".into(),
            level: 2,
            description: "valve fault".into(),
            raised_at: 1_790_000_000_000,
            at: 1_790_000_600_000,
        }
    }

    #[test]
    fn signatures_verify_and_reject_tampering_replays_and_garbage() {
        let body = generic_body(&event(PageAction::Escalated));
        let header = sign(b"s3cret", 1_790_000_600, &body);
        assert!(header.starts_with("t=1790000600,v1="));
        assert_eq!(verify(b"s3cret", &header, &body, 1_790_000_610, 300), Ok(()));
        assert_eq!(
            verify(b"other", &header, &body, 1_790_000_610, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"s3cret", &header, &body.replace("valve", "value"), 1_790_000_610, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"s3cret", &header, &body, 1_790_001_000, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(b"s3cret", "v1=zz", &body, 1_790_000_610, 300),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn pagerduty_triggers_and_resolves_one_incident_per_ticket() {
        let trigger: serde_json::Value =
            serde_json::from_str(&pagerduty_body(&event(PageAction::Escalated), "R0UT1NG")).unwrap_or_default();
        assert_eq!(trigger["event_action"], "trigger");
        assert_eq!(trigger["dedup_key"], "ms5-ticket-12");
        assert_eq!(trigger["routing_key"], "R0UT1NG");
        assert_eq!(trigger["payload"]["severity"], "error");
        assert_eq!(trigger["payload"]["source"], "l1-filler");
        assert!(
            trigger["payload"]["summary"]
                .as_str()
                .is_some_and(|s| s.contains("#12 L2"))
        );
        let resolve: serde_json::Value =
            serde_json::from_str(&pagerduty_body(&event(PageAction::Resolved), "R0UT1NG")).unwrap_or_default();
        assert_eq!(
            resolve,
            json!({"routing_key": "R0UT1NG", "event_action": "resolve", "dedup_key": "ms5-ticket-12"})
        );
    }

    #[test]
    fn slack_and_generic_bodies_carry_the_summary() {
        let slack: serde_json::Value =
            serde_json::from_str(&slack_body(&event(PageAction::Escalated))).unwrap_or_default();
        assert_eq!(
            slack["text"],
            ":red_circle: Andon #12 L2 [high maintenance] line-1 / l1-filler: valve fault"
        );
        let generic: serde_json::Value =
            serde_json::from_str(&generic_body(&event(PageAction::Resolved))).unwrap_or_default();
        assert_eq!(
            (generic["event"].as_str(), generic["ticket"].as_i64()),
            (Some("resolved"), Some(12))
        );
        assert_eq!(generic["at"], "2026-09-21T14:23:20Z");
    }

    #[test]
    fn backoff_doubles_to_the_cap_with_jitter_in_the_upper_half() {
        // (attempt, jitter, expected): base 1 s, cap 60 s
        let table = [
            (1, 0.0, 500),
            (1, 0.999_999, 999),
            (2, 0.0, 1_000),
            (3, 0.5, 3_000),
            (7, 0.0, 30_000),
            (20, 0.0, 30_000),
        ];
        for (attempt, jitter, want) in table {
            assert_eq!(
                backoff_ms(attempt, 1_000, 60_000, jitter),
                want,
                "attempt {attempt} jitter {jitter}"
            );
        }
    }
}
