//! `Hub`: channel → subscribers, with a sequence number per channel and the latest state
//! of every entity on it (so a subscriber gets a `snapshot` at once, then `update`s).
//!
//! Publishers (machine and line actors) already coalesce per entity; each publish here is
//! serialised into one frame shared by every subscriber.

use std::collections::{BTreeMap, HashMap};
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
    /// The line the entity belongs to (line-scoped subscribers see only their lines).
    pub line: Arc<str>,
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
    /// The credential it opened with (its sessions close when that is revoked).
    pub opened_by: OpenedBy,
}

/// The credential a session opened with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenedBy {
    /// A display token's id.
    pub display: Option<i64>,
    /// A person's user id.
    pub user: Option<i64>,
    /// The access token's id (`jti`).
    pub token: Option<String>,
}

/// Which sessions to close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// Those of a revoked display token.
    Display(i64),
    /// Those of a user whose account changed.
    User(i64),
    /// Those of a signed-out access token.
    Token(String),
}

/// The lines a session may see; `None`: all.
pub type LineScope = Option<Arc<[String]>>;

fn in_scope(scope: &LineScope, line: &str) -> bool {
    scope.as_ref().is_none_or(|lines| lines.iter().any(|l| l == line))
}

/// A frame for every session (the maintenance banner); a newer one replaces an unsent older one.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Announce {
    /// The JSON text frame.
    pub frame: ByteString,
}

/// Close the sessions opened with a credential that is no longer valid.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct CloseRevoked(pub Revoked);

/// Why a session is closed from the server side.
#[derive(Message, Clone, Copy, Debug, PartialEq, Eq)]
#[rtype(result = "()")]
pub enum GoingAway {
    /// Server shutdown: 1001.
    Shutdown,
    /// `real_time_updates` was turned off: 1001.
    LiveUpdatesOff,
    /// Its credential was signed out or revoked, or the account changed: 1008.
    CredentialRevoked,
}

/// Tell every session the server is going away.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct CloseAll(pub GoingAway);

/// Subscribe a session to a (validated) channel; it receives the snapshot first.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Subscribe {
    /// Session id.
    pub session: u64,
    /// The channel.
    pub channel: String,
    /// Lines the session may see on all-lines channels.
    pub scope: LineScope,
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
    #[error(
        "unknown channel `{0}`: use production_updates, line:{{id}}, machine:{{id}}, andon, andon:{{line}} or jobs:{{line}}"
    )]
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
        Some(("line", id)) | Some(("andon", id)) | Some(("jobs", id)) => ("line", id, plant.line(id).is_some()),
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
    subscribers: HashMap<u64, LineScope>,
    latest: BTreeMap<(usize, String), (Arc<str>, ByteString)>,
}

struct Session {
    deliver: Recipient<Deliver>,
    away: Recipient<GoingAway>,
    opened_by: OpenedBy,
}

/// The actor.
#[derive(Default)]
pub struct Hub {
    channels: HashMap<String, Channel>,
    sessions: HashMap<u64, Session>,
}

fn frame(kind: &str, channel: &str, seq: u64, data: &str) -> ByteString {
    // Channel names are validated ids (no characters JSON would escape).
    ByteString::from(format!(
        r#"{{"type":"{kind}","channel":"{channel}","seq":{seq},"data":{data}}}"#
    ))
}

impl Hub {
    fn snapshot_data(channel: &str, ch: &Channel, scope: &LineScope) -> String {
        let collection = match channel {
            PRODUCTION_UPDATES => Some("lines"),
            c if c == ANDON || c.starts_with("andon:") => Some("tickets"),
            c if c.starts_with("jobs:") => Some("jobs"),
            _ => None,
        };
        if let Some(name) = collection {
            let items: Vec<&str> = ch
                .latest
                .values()
                .filter(|(line, _)| in_scope(scope, line))
                .map(|(_, d)| &**d)
                .collect();
            format!(r#"{{"{name}":[{}]}}"#, items.join(","))
        } else {
            ch.latest
                .values()
                .next()
                .map_or_else(|| "null".to_owned(), |(_, d)| d.to_string())
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
                ch.latest
                    .insert((msg.order, msg.entity.clone()), (msg.line.clone(), msg.data.clone()));
            }
            if ch.subscribers.is_empty() {
                continue;
            }
            let deliver = Deliver {
                frame: frame("update", &name, ch.seq, &msg.data),
                key: Some(Arc::from(format!("{name}|{}", msg.entity))),
            };
            for (id, scope) in &ch.subscribers {
                if !in_scope(scope, &msg.line) {
                    continue;
                }
                if let Some(s) = self.sessions.get(id) {
                    s.deliver.do_send(deliver.clone());
                }
            }
        }
    }
}

impl Handler<Subscribe> for Hub {
    type Result = ();

    fn handle(&mut self, msg: Subscribe, _: &mut Context<Self>) {
        let Some(session) = self.sessions.get(&msg.session) else {
            return;
        };
        let recipient = &session.deliver;
        let ch = self.channels.entry(msg.channel.clone()).or_default();
        let data = Hub::snapshot_data(&msg.channel, ch, &msg.scope);
        ch.subscribers.insert(msg.session, msg.scope);
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
        self.sessions.insert(
            msg.session,
            Session {
                deliver: msg.deliver,
                away: msg.away,
                opened_by: msg.opened_by,
            },
        );
    }
}

impl Handler<CloseAll> for Hub {
    type Result = usize;

    fn handle(&mut self, msg: CloseAll, _: &mut Context<Self>) -> usize {
        for s in self.sessions.values() {
            s.away.do_send(msg.0);
        }
        self.sessions.len()
    }
}

impl Handler<Announce> for Hub {
    type Result = ();

    fn handle(&mut self, msg: Announce, _: &mut Context<Self>) {
        let deliver = Deliver {
            frame: msg.frame,
            key: Some(Arc::from("#banner")),
        };
        for s in self.sessions.values() {
            s.deliver.do_send(deliver.clone());
        }
    }
}

impl Handler<CloseRevoked> for Hub {
    type Result = usize;

    fn handle(&mut self, msg: CloseRevoked, _: &mut Context<Self>) -> usize {
        let hit = |o: &OpenedBy| match &msg.0 {
            Revoked::Display(id) => o.display == Some(*id),
            Revoked::User(id) => o.user == Some(*id),
            Revoked::Token(jti) => o.token.as_deref() == Some(jti.as_str()),
        };
        let matching: Vec<_> = self.sessions.values().filter(|s| hit(&s.opened_by)).collect();
        for s in &matching {
            s.away.do_send(GoingAway::CredentialRevoked);
        }
        matching.len()
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
