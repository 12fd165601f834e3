//! `Hub`: channel → subscribers, with a sequence number per channel and the latest state
//! of every entity on it (so a subscriber gets a `snapshot` at once, then `update`s).
//!
//! Publishers (machine and line actors) already coalesce per entity; each publish here is
//! serialised into one frame shared by every subscriber.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web::web::Bytes;
use bytestring::ByteString;
use serde::Serialize;
use serde_json::Value;

use super::entity_json::EntityJson;
use super::ws_session::{Outbox, Outgoing};
use crate::domain::merge_patch::diff;
use crate::domain::plant::PlantModel;
use crate::domain::wire_doc::{WINDOW_MASKS, WindowMask, is_empty_patch, only_windows};
use crate::metrics as m;

/// The channel with every line.
pub const PRODUCTION_UPDATES: &str = "production_updates";
/// The channel with every open Andon ticket (`andon:{line}` for one line's).
pub const ANDON: &str = "andon";

/// The key of the maintenance banner's frames (one `Arc`: outboxes compare keys by identity).
static BANNER_KEY: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("#banner"));
/// The key of the `degraded` notice's frames.
static DEGRADED_KEY: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("#degraded"));

/// A frame for sessions, put straight into each one's [`Outbox`] (no message per session:
/// a session that falls behind holds one pending frame per entity, not a queue). `key`
/// names the entity state it carries, so a newer state replaces an unsent older one.
#[derive(Clone)]
pub struct Deliver {
    /// The JSON text frame.
    pub frame: ByteString,
    /// `channel|entity` for state frames; `None` for one-off frames.
    pub key: Option<Arc<str>>,
    /// For a protocol 2 patch: the entity's whole state, which replaces the patch when a
    /// slow session still holds an older one for the same entity (patches cannot be
    /// dropped; a whole state can replace anything before it).
    pub whole: Option<Arc<WholeState>>,
}

/// The whole state of an entity as a protocol 2 `update` frame, made only when a slow
/// session needs it and then once for every session that does.
pub struct WholeState {
    frame: OnceLock<ByteString>,
    channel: Arc<str>,
    seq: u64,
    doc: Arc<Value>,
    windows: WindowMask,
}

impl WholeState {
    /// The `update` frame.
    pub fn frame(&self) -> ByteString {
        self.frame
            .get_or_init(|| {
                let doc = only_windows(&self.doc, self.windows);
                frame_v2("update", &self.channel, self.seq, None, &doc, &doc)
            })
            .clone()
    }
}

/// The protocol a session speaks (see docs/websocket.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// Every update carries the entity's whole state.
    #[default]
    V1,
    /// Updates are JSON merge patches of what changed, with the entity's previous `seq`.
    V2,
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
    /// The entity's new state, serialised when a subscriber or a REST read needs it.
    pub json: Arc<EntityJson>,
    /// The entity is gone after this update (a closed ticket): send it, then drop it
    /// from snapshots.
    pub retire: bool,
    /// When the tag values behind this change were received, for a change pushed at once
    /// (timed into [`m::WS_PUSH_LATENCY`] once its frames are queued).
    pub since: Option<Instant>,
    /// A line, or a machine's new counts or time passing: busy sockets take it at their
    /// pace (see [`PACE`]). Otherwise (a machine's new state, reason or product, a job, a
    /// ticket) it wakes them at once.
    pub paced: bool,
}

impl Publish {
    /// A publish of `what`, the state of `entity` (serialised only when someone reads it).
    pub fn of<T: Serialize + Send + Sync + 'static>(
        what: Arc<T>,
        channels: Vec<String>,
        entity: String,
        line: Arc<str>,
        order: usize,
        retire: bool,
    ) -> Publish {
        Publish {
            json: EntityJson::new(&entity, what),
            channels,
            entity,
            line,
            order,
            retire,
            since: None,
            paced: false,
        }
    }
}

/// A session connected.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Connect {
    /// Session id.
    pub session: u64,
    /// Where its frames go.
    pub outbox: Arc<Outbox>,
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
    /// The protocol it speaks.
    pub protocol: Protocol,
    /// The OEE windows it wants (protocol 2).
    pub windows: WindowMask,
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

struct Subscriber {
    scope: LineScope,
    protocol: Protocol,
    windows: WindowMask,
    /// The session's outbox and pace, kept here so that a publish reaches each subscriber
    /// without looking its session up.
    outbox: Arc<Outbox>,
    pace: Duration,
}

impl Subscriber {
    /// Delivers a state change, paced by `pace` (see [`Outbox::push_paced`]); `Some(due)`
    /// when the outbox needs a flush then.
    fn deliver_paced(&self, d: &Deliver, pace: Duration) -> Option<Instant> {
        // Keyed frames replace each other and never go past the budget.
        self.outbox
            .push_paced(d.key.clone(), Outgoing::Text(d.frame.clone()), d.whole.as_deref(), pace)
            .ok()
            .flatten()
    }
}

struct Entity {
    /// `channel|entity`: the key of its frames in outboxes, one `Arc` for the entity's life
    /// (outboxes compare keys by identity).
    key: Arc<str>,
    line: Arc<str>,
    json: Arc<EntityJson>,
    /// The protocol 2 document serialised per window set, made for the first snapshot that
    /// needs it and shared by every snapshot after (until the entity changes).
    wire: RefCell<HashMap<WindowMask, Bytes>>,
    /// Per window set: the `seq` of the last protocol 2 frame sent for this entity.
    sent: [u64; WINDOW_MASKS],
}

#[derive(Default)]
struct Channel {
    seq: u64,
    subscribers: HashMap<u64, Subscriber>,
    latest: BTreeMap<(usize, String), Entity>,
    /// The key of its snapshot frames, made at the first snapshot.
    snapshot_key: Option<Arc<str>>,
}

struct Session {
    outbox: Arc<Outbox>,
    away: Recipient<GoingAway>,
    opened_by: OpenedBy,
    /// See [`session_pace`].
    pace: Duration,
}

impl Session {
    fn deliver(&self, d: &Deliver) {
        // Keyed frames replace each other and never go past the budget.
        let _ = self
            .outbox
            .push(d.key.clone(), Outgoing::Text(d.frame.clone()), d.whole.as_deref());
    }
}

/// About how often a busy socket is woken for coalesced state changes: the first after a
/// quiet spell goes out at once, later ones within this, several in one write. Each session
/// paces at its own share of 15–25 ms ([`session_pace`]), so that busy sockets are not all
/// woken (and written) in the same instant. Only [`Publish::paced`] updates are paced.
pub const PACE: Duration = Duration::from_millis(20);

/// Session `id`'s pace: [`PACE`] × 0.75–1.25, spread by the id.
fn session_pace(id: u64) -> Duration {
    // Fibonacci hashing spreads consecutive ids over the range.
    let spread = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 44; // 0 .. 2^20
    PACE.mul_f64(0.75 + 0.5 * spread as f64 / f64::from(1u32 << 20))
}

/// The actor.
#[derive(Default)]
pub struct Hub {
    channels: HashMap<String, Channel>,
    sessions: HashMap<u64, Session>,
    /// Outboxes whose paced frames wait for a flush, with when it is due.
    deferred: Vec<(Instant, Arc<Outbox>)>,
    /// The `degraded` notice while the replicas cannot reach each other, for sessions
    /// that connect meanwhile.
    degraded: Option<Deliver>,
}

fn frame(kind: &str, channel: &str, seq: u64, data: &str) -> ByteString {
    // Channel names are validated ids (no characters JSON would escape).
    ByteString::from(format!(
        r#"{{"type":"{kind}","channel":"{channel}","seq":{seq},"data":{data}}}"#
    ))
}

/// A protocol 2 frame about one entity: `update` (whole state) or `patch` (with `base`).
fn frame_v2(kind: &str, channel: &str, seq: u64, base: Option<u64>, doc: &Value, data: &Value) -> ByteString {
    let id = doc.get("id").map_or_else(|| "null".to_owned(), Value::to_string);
    let base = base.map_or_else(String::new, |b| format!(r#","base":{b}"#));
    ByteString::from(format!(
        r#"{{"type":"{kind}","channel":"{channel}","seq":{seq}{base},"id":{id},"data":{data}}}"#
    ))
}

/// The collection a channel's snapshot lists its entities under (`None`: one entity).
fn collection(channel: &str) -> Option<&'static str> {
    match channel {
        PRODUCTION_UPDATES => Some("lines"),
        c if c == ANDON || c.starts_with("andon:") => Some("tickets"),
        c if c.starts_with("jobs:") => Some("jobs"),
        _ => None,
    }
}

impl Hub {
    /// A snapshot frame as pieces: the frame's head and tail, and the entities' bytes,
    /// which every snapshot of the same entities shares (no copy per subscriber).
    fn snapshot(channel: &str, ch: &Channel, sub: &Subscriber) -> Vec<Bytes> {
        let item = |e: &Entity| match sub.protocol {
            Protocol::V1 => e.json.data().into_bytes(),
            Protocol::V2 => e
                .wire
                .borrow_mut()
                .entry(sub.windows)
                .or_insert_with(|| Bytes::from(only_windows(&e.json.doc(), sub.windows).to_string()))
                .clone(),
        };
        let head = format!(r#"{{"type":"snapshot","channel":"{channel}","seq":{},"data":"#, ch.seq);
        let mut visible = ch.latest.values().filter(|e| in_scope(&sub.scope, &e.line));
        let mut pieces = vec![Bytes::from(head)];
        if let Some(name) = collection(channel) {
            pieces.push(Bytes::from(format!(r#"{{"{name}":["#)));
            for (i, e) in visible.enumerate() {
                if i > 0 {
                    pieces.push(Bytes::from_static(b","));
                }
                pieces.push(item(e));
            }
            pieces.push(Bytes::from_static(b"]}}"));
        } else {
            pieces.push(visible.next().map_or_else(|| Bytes::from_static(b"null"), item));
            pieces.push(Bytes::from_static(b"}"));
        }
        pieces
    }

    fn send_snapshot(&mut self, session: u64, channel: &str) {
        let Some(ch) = self.channels.get_mut(channel) else {
            return;
        };
        // Keyed so a stuck client's snapshot is never dropped as a one-off frame.
        let key = ch
            .snapshot_key
            .get_or_insert_with(|| Arc::from(format!("{channel}|#snapshot")))
            .clone();
        let Some(sub) = ch.subscribers.get(&session) else {
            return;
        };
        let _ = sub
            .outbox
            .push(Some(key), Outgoing::Pieces(Hub::snapshot(channel, ch, sub)), None);
    }
}

/// What one publish sends to protocol 2 sessions with one window set.
fn v2_deliver(
    channel: &str,
    seq: u64,
    key: &Arc<str>,
    entity: &mut Entity,
    change: Option<&Value>,
    windows: WindowMask,
) -> Option<Deliver> {
    let whole = Arc::new(WholeState {
        frame: OnceLock::new(),
        channel: Arc::from(channel),
        seq,
        doc: entity.json.doc(),
        windows,
    });
    let frame = match change {
        // A new entity arrives whole.
        None => whole.frame(),
        Some(patch) => {
            let patch = only_windows(patch, windows);
            if is_empty_patch(&patch) {
                return None;
            }
            let base = entity.sent[windows.index()];
            frame_v2("patch", channel, seq, Some(base), &entity.json.doc(), &patch)
        }
    };
    entity.sent[windows.index()] = seq;
    Some(Deliver {
        frame,
        key: Some(key.clone()),
        whole: Some(whole),
    })
}

impl Actor for Hub {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(PACE / 4, |hub, _| {
            let now = Instant::now();
            hub.deferred.retain(|(due, outbox)| {
                let flush = *due <= now;
                if flush {
                    outbox.flush();
                }
                !flush
            });
        });
    }
}

impl Supervised for Hub {}

impl Handler<Publish> for Hub {
    type Result = ();

    fn handle(&mut self, msg: Publish, _: &mut Context<Self>) {
        let urgent = !msg.paced;
        for name in msg.channels {
            let ch = self.channels.entry(name.clone()).or_default();
            ch.seq += 1;
            let seq = ch.seq;
            let slot = (msg.order, msg.entity.clone());
            let previous = ch.latest.remove(&slot);
            let key = previous
                .as_ref()
                .map_or_else(|| Arc::from(format!("{name}|{}", msg.entity)), |p| p.key.clone());
            let mut entity = Entity {
                key: key.clone(),
                line: msg.line.clone(),
                json: msg.json.clone(),
                wire: RefCell::default(),
                sent: previous.as_ref().map_or([0; WINDOW_MASKS], |p| p.sent),
            };
            // Made for the first protocol 2 subscriber. `Some(None)`: nothing changed;
            // `None`: a new entity.
            let mut change: Option<Option<Option<Value>>> = None;
            if !ch.subscribers.is_empty() {
                let mut v1 = None;
                let mut v2: [Option<Option<Deliver>>; WINDOW_MASKS] = std::array::from_fn(|_| None);
                for sub in ch.subscribers.values() {
                    if !in_scope(&sub.scope, &msg.line) {
                        continue;
                    }
                    let deliver = match sub.protocol {
                        Protocol::V1 => v1.get_or_insert_with(|| Deliver {
                            frame: frame("update", &name, seq, &msg.json.data()),
                            key: Some(key.clone()),
                            whole: None,
                        }),
                        Protocol::V2 => {
                            let change = change.get_or_insert_with(|| {
                                previous.as_ref().map(|p| diff(&p.json.doc(), &entity.json.doc()))
                            });
                            let made = v2[sub.windows.index()].get_or_insert_with(|| match change {
                                Some(None) => None,
                                Some(Some(patch)) => {
                                    v2_deliver(&name, seq, &key, &mut entity, Some(patch), sub.windows)
                                }
                                None => v2_deliver(&name, seq, &key, &mut entity, None, sub.windows),
                            });
                            match made {
                                Some(d) => d,
                                None => continue,
                            }
                        }
                    };
                    if let Some(due) = sub.deliver_paced(deliver, if urgent { Duration::ZERO } else { sub.pace }) {
                        self.deferred.push((due, sub.outbox.clone()));
                    }
                }
            }
            if !msg.retire {
                ch.latest.insert(slot, entity);
            }
        }
        if let Some(since) = msg.since {
            metrics::histogram!(m::WS_PUSH_LATENCY).record(since.elapsed().as_secs_f64());
        }
    }
}

impl Handler<Subscribe> for Hub {
    type Result = ();

    fn handle(&mut self, msg: Subscribe, _: &mut Context<Self>) {
        let Some(s) = self.sessions.get(&msg.session) else {
            return;
        };
        let (outbox, pace) = (s.outbox.clone(), s.pace);
        let ch = self.channels.entry(msg.channel.clone()).or_default();
        ch.subscribers.insert(
            msg.session,
            Subscriber {
                scope: msg.scope,
                protocol: msg.protocol,
                windows: msg.windows,
                outbox,
                pace,
            },
        );
        self.send_snapshot(msg.session, &msg.channel);
    }
}

/// Send a subscribed session the channel's snapshot again (a protocol 2 client that
/// found a gap).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Resync {
    /// Session id.
    pub session: u64,
    /// The channel.
    pub channel: String,
}

impl Handler<Resync> for Hub {
    type Result = ();

    fn handle(&mut self, msg: Resync, _: &mut Context<Self>) {
        self.send_snapshot(msg.session, &msg.channel);
    }
}

impl Handler<Connect> for Hub {
    type Result = ();

    fn handle(&mut self, msg: Connect, _: &mut Context<Self>) {
        self.sessions.insert(
            msg.session,
            Session {
                outbox: msg.outbox,
                away: msg.away,
                opened_by: msg.opened_by,
                pace: session_pace(msg.session),
            },
        );
        if let (Some(d), Some(s)) = (&self.degraded, self.sessions.get(&msg.session)) {
            s.deliver(d);
        }
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
            key: Some(BANNER_KEY.clone()),
            whole: None,
        };
        for s in self.sessions.values() {
            s.deliver(&deliver);
        }
    }
}

/// This replica lost (`Some(reason)`) or regained (`None`) the channel to the other
/// replicas (see `cluster::bus`): every session is told with a `degraded` frame.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Degraded(pub Option<String>);

/// The `degraded` frame (docs/websocket.md).
pub fn degraded_frame(reason: Option<&str>) -> ByteString {
    let data = match reason {
        Some(r) => serde_json::json!({ "degraded": true, "reason": r }),
        None => serde_json::json!({ "degraded": false }),
    };
    ByteString::from(serde_json::json!({ "type": "degraded", "data": data }).to_string())
}

impl Handler<Degraded> for Hub {
    type Result = ();

    fn handle(&mut self, msg: Degraded, _: &mut Context<Self>) {
        let deliver = Deliver {
            frame: degraded_frame(msg.0.as_deref()),
            key: Some(DEGRADED_KEY.clone()),
            whole: None,
        };
        for s in self.sessions.values() {
            s.deliver(&deliver);
        }
        self.degraded = msg.0.is_some().then_some(deliver);
    }
}

/// Send every subscriber of every channel its snapshot again (the live state came back
/// after the replicas could not reach each other: whatever was missed is in it).
#[derive(Message)]
#[rtype(result = "usize")]
pub struct ResnapshotAll;

impl Handler<ResnapshotAll> for Hub {
    type Result = usize;

    fn handle(&mut self, _: ResnapshotAll, _: &mut Context<Self>) -> usize {
        let targets: Vec<(u64, String)> = self
            .channels
            .iter()
            .flat_map(|(name, ch)| ch.subscribers.keys().map(move |s| (*s, name.clone())))
            .collect();
        for (session, channel) in &targets {
            self.send_snapshot(*session, channel);
        }
        targets.len()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_pace_within_a_quarter_of_pace_and_spread_over_it() {
        let paces: Vec<Duration> = (1..=1000).map(session_pace).collect();
        let (lo, hi) = (PACE.mul_f64(0.75), PACE.mul_f64(1.25));
        assert!(paces.iter().all(|p| (lo..=hi).contains(p)), "every pace in 15–25 ms");
        let min = paces.iter().min().copied().unwrap_or_default();
        let max = paces.iter().max().copied().unwrap_or_default();
        assert!(
            min < Duration::from_millis(16) && max > Duration::from_millis(24),
            "{min:?} … {max:?}"
        );
        // Neighbouring ids (sockets opened one after another) do not pace alike.
        let close = paces
            .windows(2)
            .filter(|w| w[0].abs_diff(w[1]) < Duration::from_millis(1))
            .count();
        assert!(close < 200, "{close} of 999 neighbours within 1 ms");
    }
}
