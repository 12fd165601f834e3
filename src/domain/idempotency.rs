//! Idempotent writes: an operator's tablet sends each action with an `Idempotency-Key`,
//! and sends it again when it cannot tell whether the first try arrived (a dropped
//! connection, an action queued offline). The first request with a key is applied and its
//! answer kept; a request with the same key and the same body gets that answer back
//! without applying anything; the same key with another body is refused.
//!
//! The rules here are pure; the store keeps the answers, `http::idempotency` applies them.

use sha2::{Digest, Sha256};

use super::EpochMs;

/// How long an answer is kept: a key older than this is forgotten, and a request that
/// reuses it is applied again. A day covers a tablet that was offline for a whole shift.
pub const KEY_LIFETIME_MS: EpochMs = 24 * 60 * 60 * 1000;

/// How long a claimed key waits for its answer: a claim older than this was left by a
/// request that never finished (the service stopped), and the key is free again.
pub const IN_FLIGHT_LIMIT_MS: EpochMs = 60 * 1000;

/// The longest key accepted (a UUID is 36 characters).
pub const MAX_KEY_LEN: usize = 255;

/// Why a key is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The header is empty.
    #[error("the Idempotency-Key header is empty")]
    Empty,
    /// The header is longer than [`MAX_KEY_LEN`].
    #[error("the Idempotency-Key header is longer than {MAX_KEY_LEN} characters")]
    TooLong,
    /// The header holds something other than visible ASCII.
    #[error("the Idempotency-Key header may hold visible ASCII characters only")]
    Invisible,
}

/// Checks a key as sent: 1 to [`MAX_KEY_LEN`] visible ASCII characters.
pub fn parse_key(raw: &str) -> Result<&str, KeyError> {
    if raw.is_empty() {
        return Err(KeyError::Empty);
    }
    if raw.len() > MAX_KEY_LEN {
        return Err(KeyError::TooLong);
    }
    if !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(KeyError::Invisible);
    }
    Ok(raw)
}

/// What a request is, for telling a replay from another request under the same key: the
/// method, the path with its query, and the body, hashed (hex SHA-256).
pub fn fingerprint(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update([0]);
    h.update(path_and_query.as_bytes());
    h.update([0]);
    h.update(body);
    hex::encode(h.finalize())
}

/// What the store holds for a (key, user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// Nothing (or only an expired answer).
    Nothing,
    /// A request with this key is being applied right now.
    InFlight {
        /// Its fingerprint.
        fingerprint: String,
    },
    /// A request with this key was answered.
    Answered {
        /// Its fingerprint.
        fingerprint: String,
        /// Its status.
        status: u16,
        /// Its body.
        body: Vec<u8>,
    },
}

/// What to do with a request that carries a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Apply it and keep the answer.
    Apply,
    /// Answer with the kept answer, applying nothing.
    Replay {
        /// The first answer's status.
        status: u16,
        /// The first answer's body.
        body: Vec<u8>,
    },
    /// The key was used for another request (another body or route): 422.
    Mismatch,
    /// The first request with this key has not been answered yet: 409, try again.
    InFlight,
}

/// Decides what to do with a request of fingerprint `fingerprint` given what is stored.
pub fn decide(stored: Stored, fingerprint: &str) -> Verdict {
    match stored {
        Stored::Nothing => Verdict::Apply,
        Stored::InFlight { fingerprint: f } if f == fingerprint => Verdict::InFlight,
        Stored::Answered {
            fingerprint: f,
            status,
            body,
        } if f == fingerprint => Verdict::Replay { status, body },
        Stored::InFlight { .. } | Stored::Answered { .. } => Verdict::Mismatch,
    }
}

/// Whether an answer is kept for replays. Answers that say the request was applied, or
/// that it can never be (bad input, a conflict such as a ticket resolved elsewhere), are
/// kept; answers that say "not now" (maintenance, overload, an unavailable store, too
/// many requests) are not, so the same key can be sent again and applied later.
pub fn keep_answer(status: u16) -> bool {
    status < 500 && status != 429 && status != 401 && status != 408
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_255_visible_ascii_characters() {
        let long = "k".repeat(256);
        let longest = "k".repeat(255);
        let table: [(&str, Result<&str, KeyError>); 6] = [
            ("3f2c-11", Ok("3f2c-11")),
            (&longest, Ok(&longest)),
            ("", Err(KeyError::Empty)),
            (&long, Err(KeyError::TooLong)),
            ("a b", Err(KeyError::Invisible)),
            ("schlüssel", Err(KeyError::Invisible)),
        ];
        for (raw, want) in table {
            assert_eq!(parse_key(raw), want, "{raw}");
        }
    }

    #[test]
    fn a_fingerprint_tells_method_path_and_body_apart() {
        let base = fingerprint("POST", "/api/v1/rejects", b"{\"quantity\":2}");
        assert_eq!(base, fingerprint("POST", "/api/v1/rejects", b"{\"quantity\":2}"));
        assert_eq!(base.len(), 64);
        for other in [
            fingerprint("PUT", "/api/v1/rejects", b"{\"quantity\":2}"),
            fingerprint("POST", "/api/v1/rejects?x=1", b"{\"quantity\":2}"),
            fingerprint("POST", "/api/v1/rejects", b"{\"quantity\":3}"),
            // The separators keep a path/body boundary from moving unnoticed.
            fingerprint("POST", "/api/v1/rejects{", b"\"quantity\":2}"),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn the_verdict_follows_what_is_stored() {
        let answered = |f: &str| Stored::Answered {
            fingerprint: f.into(),
            status: 201,
            body: b"{}".to_vec(),
        };
        let in_flight = |f: &str| Stored::InFlight { fingerprint: f.into() };
        // (stored, fingerprint of the request, verdict)
        let table = [
            (Stored::Nothing, "a", Verdict::Apply),
            (
                answered("a"),
                "a",
                Verdict::Replay {
                    status: 201,
                    body: b"{}".to_vec(),
                },
            ),
            (answered("a"), "b", Verdict::Mismatch),
            (in_flight("a"), "a", Verdict::InFlight),
            (in_flight("a"), "b", Verdict::Mismatch),
        ];
        for (stored, f, want) in table {
            assert_eq!(decide(stored.clone(), f), want, "{stored:?} {f}");
        }
    }

    #[test]
    fn answers_meaning_not_now_are_not_kept() {
        // (status, kept)
        let table = [
            (200, true),
            (201, true),
            (400, true),
            (403, true),
            (404, true),
            (409, true),
            (422, true),
            (401, false),
            (408, false),
            (429, false),
            (500, false),
            (503, false),
        ];
        for (status, kept) in table {
            assert_eq!(keep_answer(status), kept, "{status}");
        }
    }
}
