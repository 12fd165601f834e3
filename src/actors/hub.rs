//! `Hub`: channel → subscribers, with a sequence number per channel and the latest state
//! of every entity on it (so a subscriber gets a `snapshot` at once, then `update`s).
//!
//! Publishers (machine and line actors) already coalesce per entity; each publish here is
//! serialised into one frame shared by every subscriber.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use actix::prelude::*;
use bytestring::ByteString;

use crate::domain::plant::PlantModel;

/// The channel with every line.
pub const PRODUCTION_UPDATES: &str = "production_updates";
/// The channel with every open Andon ticket (`andon:{line}` for one line's).
pub const ANDON: &str = "andon";

/// A frame for one session. `key` names the entity state it carries, so a slow session
/// can replace an unsent older state of the same entity with this one.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Deliver {
    /// The JSON text frame.
    pub frame: ByteString,
    /// `channel|entity` for state frames; `None` for one-off frames.
    pub key: Option<Arc<str>>,
}

/// New state of an entity, for one or more channels.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Publish {
    /// Channels to publish on.
    pub channels: Vec<String>,
    /// The entity (line or machine id).
    pub entity: String,
    /// Position of the entity in snapshots.
    pub order: usize,
    /// The entity as JSON.
    pub data: ByteString,
    /// The entity is gone after this update (a closed ticket): send it, then drop it
    /// from snapshots.
    pub retire: bool,
}

/// A session connected.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Connect {
    /// Session id.
    pub session: u64,
    /// Where its frames go.
    pub deliver: Recipient<Deliver>,
    /// Where to tell it the server is going away.
    pub away: Recipient<GoingAway>,
}

/// Server shutdown: the session closes with 1001 (going away).
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct GoingAway;

/// Tell every session the server is going away.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct CloseAll;

/// Subscribe a session to a (validated) channel; it receives the snapshot first.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Subscribe {
    /// Session id.
    pub session: u64,
    /// The channel.
    pub channel: String,
}

/// Unsubscribe a session from a channel.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Unsubscribe {
    /// Session id.
    pub session: u64,
    /// The channel.
    pub channel: String,
}

/// A session went away.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Disconnect {
    /// Session id.
    pub session: u64,
}

/// Why a channel name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// Not a channel form MS5 has.
    #[error("unknown channel `{0}`: use production_updates, line:{{id}}, machine:{{id}}, andon or andon:{{line}}")]
    Unknown(String),
    /// The line or machine does not exist.
    #[error("no {kind} `{id}` in this plant")]
    NoSuchEntity {
        /// line or machine.
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
}

/// Checks that `channel` exists in this plant.
pub fn validate_channel(plant: &PlantModel, channel: &str) -> Result<(), ChannelError> {
    if channel == PRODUCTION_UPDATES || channel == ANDON {
        return Ok(());
    }
    let (kind, id, exists) = match channel.split_once(':') {
        Some(("line", id)) | Some(("andon", id)) => ("line", id, plant.line(id).is_some()),
        Some(("machine", id)) => ("machine", id, plant.machine(id).is_some()),
        _ => return Err(ChannelError::Unknown(channel.to_owned())),
    };
    if exists {
        Ok(())
    } else {
        Err(ChannelError::NoSuchEntity {
            kind,
            id: id.to_owned(),
        })
    }
}

#[derive(Default)]
struct Channel {
    seq: u64,
    subscribers: HashSet<u64>,
    latest: BTreeMap<(usize, String), ByteString>,
}

/// The actor.
#[derive(Default)]
pub struct Hub {
    channels: HashMap<String, Channel>,
    sessions: HashMap<u64, (Recipient<Deliver>, Recipient<GoingAway>)>,
}

fn frame(kind: &str, channel: &str, seq: u64, data: &str) -> ByteString {
    // Channel names are validated ids (no characters JSON would escape).
    ByteString::from(format!(
        r#"{{"type":"{kind}","channel":"{channel}","seq":{seq},"data":{data}}}"#
    ))
}

impl Hub {
    fn snapshot_data(channel: &str, ch: &Channel) -> String {
        let collection = match channel {
            PRODUCTION_UPDATES => Some("lines"),
            c if c == ANDON || c.starts_with("andon:") => Some("tickets"),
            _ => None,
        };
        if let Some(name) = collection {
            let items: Vec<&str> = ch.latest.values().map(|d| &**d).collect();
            format!(r#"{{"{name}":[{}]}}"#, items.join(","))
        } else {
            ch.latest
                .values()
                .next()
                .map_or_else(|| "null".to_owned(), |d| d.to_string())
        }
    }
}

impl Actor for Hub {
    type Context = Context<Self>;
}

impl Supervised for Hub {}

impl Handler<Publish> for Hub {
    type Result = ();

    fn handle(&mut self, msg: Publish, _: &mut Context<Self>) {
        for name in msg.channels {
            let ch = self.channels.entry(name.clone()).or_default();
            ch.seq += 1;
            if msg.retire {
                ch.latest.remove(&(msg.order, msg.entity.clone()));
            } else {
                ch.latest.insert((msg.order, msg.entity.clone()), msg.data.clone());
            }
            if ch.subscribers.is_empty() {
                continue;
            }
            let deliver = Deliver {
                frame: frame("update", &name, ch.seq, &msg.data),
                key: Some(Arc::from(format!("{name}|{}", msg.entity))),
            };
            for id in &ch.subscribers {
                if let Some((r, _)) = self.sessions.get(id) {
                    r.do_send(deliver.clone());
                }
            }
        }
    }
}

impl Handler<Subscribe> for Hub {
    type Result = ();

    fn handle(&mut self, msg: Subscribe, _: &mut Context<Self>) {
        let Some((recipient, _)) = self.sessions.get(&msg.session) else {
            return;
        };
        let ch = self.channels.entry(msg.channel.clone()).or_default();
        ch.subscribers.insert(msg.session);
        let data = Hub::snapshot_data(&msg.channel, ch);
        // Keyed so a stuck client's snapshot is never dropped as a one-off frame.
        recipient.do_send(Deliver {
            frame: frame("snapshot", &msg.channel, ch.seq, &data),
            key: Some(Arc::from(format!("{}|#snapshot", msg.channel))),
        });
    }
}

impl Handler<Connect> for Hub {
    type Result = ();

    fn handle(&mut self, msg: Connect, _: &mut Context<Self>) {
        self.sessions.insert(msg.session, (msg.deliver, msg.away));
    }
}

impl Handler<CloseAll> for Hub {
    type Result = usize;

    fn handle(&mut self, _: CloseAll, _: &mut Context<Self>) -> usize {
        for (_, away) in self.sessions.values() {
            away.do_send(GoingAway);
        }
        self.sessions.len()
    }
}

impl Handler<Unsubscribe> for Hub {
    type Result = ();

    fn handle(&mut self, msg: Unsubscribe, _: &mut Context<Self>) {
        if let Some(ch) = self.channels.get_mut(&msg.channel) {
            ch.subscribers.remove(&msg.session);
        }
    }
}

impl Handler<Disconnect> for Hub {
    type Result = ();

    fn handle(&mut self, msg: Disconnect, _: &mut Context<Self>) {
        self.sessions.remove(&msg.session);
        for ch in self.channels.values_mut() {
            ch.subscribers.remove(&msg.session);
        }
    }
}
