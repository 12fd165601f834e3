//! Sparkplug B as a host application: the payload ([`payload`]), the edge nodes' sessions
//! ([`host`]), and the host's own STATE message (Sparkplug 3.0).

pub mod host;
pub mod payload;

use crate::domain::EpochMs;

/// The host's STATE topic: `spBv1.0/STATE/<host_id>`.
pub fn state_topic(host_id: &str) -> String {
    format!("{}/STATE/{host_id}", host::NAMESPACE)
}

/// The STATE body: `{"online":true|false,"timestamp":<ms>}`. The birth (online, published
/// retained right after subscribing) and the will (offline) of one connection carry the same
/// timestamp, that of the connection attempt.
pub fn state_payload(online: bool, timestamp: EpochMs) -> Vec<u8> {
    serde_json::json!({ "online": online, "timestamp": timestamp })
        .to_string()
        .into_bytes()
}

/// A STATE body, read: `(online, timestamp)`.
pub fn read_state(bytes: &[u8]) -> Option<(bool, EpochMs)> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    Some((v.get("online")?.as_bool()?, v.get("timestamp")?.as_i64()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_messages_are_json_with_online_and_timestamp() {
        assert_eq!(state_topic("ms5"), "spBv1.0/STATE/ms5");
        assert_eq!(
            String::from_utf8(state_payload(true, 1_700_000_000_123))
                .ok()
                .as_deref(),
            Some(r#"{"online":true,"timestamp":1700000000123}"#)
        );
        assert_eq!(read_state(&state_payload(false, 5)), Some((false, 5)));
        assert_eq!(read_state(b"{\"online\":\"yes\"}"), None);
        assert_eq!(read_state(b"offline"), None);
    }
}
