//! What replicas say to each other over the Redis channel (docs/cluster.md): an owner's
//! new state of a machine or line, a request for every owner's states, a change people
//! made in the store that other replicas' actors read, a correction or trend warning for
//! a machine's owner, a request that owners write what they hold (and its answer), and a
//! replica leaving. One JSON object per message, named by its kind:
//! `{"state":{"from":"ms5-a","kind":"machine","id":"l1-filler","paced":false,"data":{…}}}`
//! (externally tagged, so a state's JSON passes through as it is).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::domain::EpochMs;
use crate::domain::production::trend::TrendWarning;
use crate::domain::tally::Tally;

/// Which live entity a state is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A machine (`machine:{id}`).
    Machine,
    /// A line (`line:{id}` and `production_updates`).
    Line,
}

/// Something in the store other replicas' actors must read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// Andon tickets (raised, acknowledged, escalated, closed).
    Andon,
    /// Jobs and products (a machine's product follows its line's running job).
    Jobs,
}

/// One message, as received.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BusMessage {
    /// The owner's new state of an entity, as the REST API shows it.
    State {
        /// The replica that sent it.
        from: String,
        /// Machine or line.
        kind: EntityKind,
        /// Its id.
        id: String,
        /// See `Publish::paced`.
        paced: bool,
        /// The JSON.
        data: Box<RawValue>,
    },
    /// A replica (re)joined the channel: every owner sends the states it owns.
    Resync {
        /// The replica asking.
        from: String,
    },
    /// People changed `topic` in the store.
    Changed {
        /// The replica where they did.
        from: String,
        /// What changed.
        topic: Topic,
    },
    /// A parts correction (a reject logged or voided) for the owner of `machine`.
    Correct {
        /// The replica where it was logged.
        from: String,
        /// Machine id.
        machine: String,
        /// When the parts were made.
        at: EpochMs,
        /// The correction.
        tally: Tally,
    },
    /// A machine's trend warning, for its owner to show.
    Trend {
        /// The replica that judged it.
        from: String,
        /// Machine id.
        machine: String,
        /// The warning.
        warning: Option<TrendWarning>,
    },
    /// A replica is about to read the store: the owners of `lines` write what they hold
    /// and answer.
    Flush {
        /// The replica asking.
        from: String,
        /// Line ids.
        lines: Vec<String>,
        /// Names the answer.
        nonce: u64,
    },
    /// The answer to [`BusMessage::Flush`]: what the owner held of `lines` is written.
    Flushed {
        /// The owner.
        from: String,
        /// The replica that asked.
        to: String,
        /// The request's.
        nonce: u64,
        /// The lines of the request that run on `from`.
        lines: Vec<String>,
    },
    /// A replica handed its leases over (a graceful stop): the others claim them now.
    Released {
        /// The replica that left.
        from: String,
    },
    /// Records an edge forwarded grew these machines' history: their owners start them
    /// again from the store.
    Reload {
        /// The replica that took the records.
        from: String,
        /// Machine ids.
        machines: Vec<String>,
    },
}

impl BusMessage {
    /// The replica that sent it.
    pub fn from(&self) -> &str {
        match self {
            BusMessage::State { from, .. }
            | BusMessage::Resync { from }
            | BusMessage::Changed { from, .. }
            | BusMessage::Correct { from, .. }
            | BusMessage::Trend { from, .. }
            | BusMessage::Flush { from, .. }
            | BusMessage::Flushed { from, .. }
            | BusMessage::Released { from }
            | BusMessage::Reload { from, .. } => from,
        }
    }

    /// Reads a message; `Err` names what is wrong with it.
    pub fn decode(text: &[u8]) -> Result<BusMessage, serde_json::Error> {
        serde_json::from_slice(text)
    }
}

/// One message, to send: like [`BusMessage`], with the state's JSON as text.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outgoing<'a> {
    /// See [`BusMessage::State`].
    State {
        /// The sender.
        from: &'a str,
        /// Machine or line.
        kind: EntityKind,
        /// Its id.
        id: &'a str,
        /// See `Publish::paced`.
        paced: bool,
        /// The JSON, as is.
        data: &'a RawValue,
    },
    /// See [`BusMessage::Resync`].
    Resync {
        /// The sender.
        from: &'a str,
    },
    /// See [`BusMessage::Changed`].
    Changed {
        /// The sender.
        from: &'a str,
        /// What changed.
        topic: Topic,
    },
    /// See [`BusMessage::Correct`].
    Correct {
        /// The sender.
        from: &'a str,
        /// Machine id.
        machine: &'a str,
        /// When the parts were made.
        at: EpochMs,
        /// The correction.
        tally: Tally,
    },
    /// See [`BusMessage::Trend`].
    Trend {
        /// The sender.
        from: &'a str,
        /// Machine id.
        machine: &'a str,
        /// The warning.
        warning: Option<TrendWarning>,
    },
    /// See [`BusMessage::Flush`].
    Flush {
        /// The sender.
        from: &'a str,
        /// Line ids.
        lines: &'a [String],
        /// Names the answer.
        nonce: u64,
    },
    /// See [`BusMessage::Flushed`].
    Flushed {
        /// The sender.
        from: &'a str,
        /// The replica that asked.
        to: &'a str,
        /// The request's.
        nonce: u64,
        /// The lines written.
        lines: &'a [String],
    },
    /// See [`BusMessage::Released`].
    Released {
        /// The sender.
        from: &'a str,
    },
    /// See [`BusMessage::Reload`].
    Reload {
        /// The sender.
        from: &'a str,
        /// Machine ids.
        machines: &'a [String],
    },
}

impl Outgoing<'_> {
    /// The message's text.
    pub fn encode(&self) -> String {
        // Every field serialises (ids are strings, the state is JSON text already).
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_goes_over_as_it_is_and_comes_back_with_its_json_untouched() {
        // Field order and number formatting are the owner's: REST bodies on every replica
        // are byte for byte the owner's.
        let data = r#"{"id":"l1-filler","state":"running","oee":{"15m":0.8125,"alpha":1}}"#;
        let raw = RawValue::from_string(data.to_owned()).ok();
        let Some(raw) = raw.as_deref() else {
            panic!("valid JSON")
        };
        let text = Outgoing::State {
            from: "ms5-a",
            kind: EntityKind::Machine,
            id: "l1-filler",
            paced: true,
            data: raw,
        }
        .encode();
        match BusMessage::decode(text.as_bytes()) {
            Ok(BusMessage::State {
                from,
                kind,
                id,
                paced,
                data: back,
            }) => {
                assert_eq!(
                    (from.as_str(), kind, id.as_str(), paced),
                    ("ms5-a", EntityKind::Machine, "l1-filler", true)
                );
                assert_eq!(back.get(), data);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_other_message_round_trips() {
        let tally = Tally {
            good: -2,
            ..Tally::default()
        };
        let lines = vec!["line-a".to_owned()];
        let cases = [
            (Outgoing::Resync { from: "a" }.encode(), "resync"),
            (
                Outgoing::Changed {
                    from: "a",
                    topic: Topic::Jobs,
                }
                .encode(),
                "changed",
            ),
            (
                Outgoing::Correct {
                    from: "a",
                    machine: "m1",
                    at: 1_000,
                    tally,
                }
                .encode(),
                "correct",
            ),
            (
                Outgoing::Trend {
                    from: "a",
                    machine: "m1",
                    warning: None,
                }
                .encode(),
                "trend",
            ),
            (Outgoing::Released { from: "a" }.encode(), "released"),
            (
                Outgoing::Flush {
                    from: "a",
                    lines: &lines,
                    nonce: 7,
                }
                .encode(),
                "flush",
            ),
            (
                Outgoing::Flushed {
                    from: "a",
                    to: "b",
                    nonce: 7,
                    lines: &lines,
                }
                .encode(),
                "flushed",
            ),
        ];
        for (text, kind) in cases {
            let msg = BusMessage::decode(text.as_bytes()).map_err(|e| format!("{kind}: {e}: {text}"));
            assert_eq!(msg.as_ref().map(BusMessage::from), Ok("a"), "{kind}");
            match (kind, msg) {
                ("resync", Ok(BusMessage::Resync { .. })) | ("released", Ok(BusMessage::Released { .. })) => {}
                ("changed", Ok(BusMessage::Changed { topic, .. })) => assert_eq!(topic, Topic::Jobs),
                (
                    "correct",
                    Ok(BusMessage::Correct {
                        machine, at, tally: t, ..
                    }),
                ) => {
                    assert_eq!((machine.as_str(), at, t), ("m1", 1_000, tally))
                }
                ("trend", Ok(BusMessage::Trend { machine, warning, .. })) => {
                    assert_eq!((machine.as_str(), warning), ("m1", None))
                }
                ("flush", Ok(BusMessage::Flush { lines: l, nonce, .. })) => assert_eq!((l, nonce), (lines.clone(), 7)),
                (
                    "flushed",
                    Ok(BusMessage::Flushed {
                        to, nonce, lines: l, ..
                    }),
                ) => {
                    assert_eq!((to.as_str(), nonce, l), ("b", 7, lines.clone()))
                }
                (kind, other) => panic!("{kind}: {other:?}"),
            }
        }
    }

    #[test]
    fn what_is_not_a_message_is_refused_with_a_reason() {
        for bad in [
            &b"not json"[..],
            br#"{"state":{"from":"a"}}"#,
            br#"{"shout":{"from":"a"}}"#,
        ] {
            let e = BusMessage::decode(bad).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(!e.is_empty(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
