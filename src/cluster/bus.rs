//! `Bus`: this replica's side of the Redis channel the replicas share (docs/cluster.md).
//!
//! Owners send each new state of their machines and lines; every replica relays what it
//! receives to its own sockets and REST bodies (`cluster::relay`). Commands go through a
//! deadpool-redis pool; the subscription has a connection of its own, made again (and
//! subscribed again) whenever it drops. Redis keeps nothing for a subscriber that is
//! away, so on each (re)connect the replica asks every owner for all its states and then
//! sends its sockets fresh snapshots. While Redis cannot be reached, the replica keeps
//! running and serving the lines it owns and tells its sockets it is `degraded`.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use deadpool_redis::redis;
use futures_util::StreamExt;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot, watch};

use crate::actors::entity_json::EntityJson;
use crate::actors::hub::{Degraded, Hub, ResnapshotAll};
use crate::domain::EpochMs;
use crate::domain::cluster::bus_message::{BusMessage, EntityKind, Outgoing, Topic};
use crate::domain::production::trend::TrendWarning;
use crate::domain::tally::Tally;
use crate::metrics as m;

/// Messages waiting to be sent; past this they are dropped (and counted): the next state
/// of the same entity, or the resync after Redis returns, makes up for them.
const QUEUE: usize = 8_192;
/// Longest wait for Redis on one operation.
const TIMEOUT: Duration = Duration::from_secs(2);
/// How often an idle sender checks that Redis still answers.
const PING_EVERY: Duration = Duration::from_secs(2);
/// Waits between attempts to subscribe again: doubling from the first to the last.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(2);
/// Longest wait for the owners' answers to a flush request.
pub const FLUSH_WAIT: Duration = Duration::from_secs(1);
/// After the channel is back: how long owners get to send their states before the
/// sockets are sent fresh snapshots.
const SETTLE: Duration = Duration::from_millis(500);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Held only to update a map; a panic mid-update leaves it usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Why the bus cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The URL is not one Redis takes.
    #[error("redis.url: {0}")]
    Url(String),
}

/// Something to send.
enum Note {
    State {
        kind: EntityKind,
        id: String,
        paced: bool,
        json: Arc<EntityJson>,
    },
    Resync,
    Changed(Topic),
    Correct {
        machine: String,
        at: EpochMs,
        tally: Tally,
    },
    Trend {
        machine: String,
        warning: Option<TrendWarning>,
    },
    Flush {
        lines: Vec<String>,
        nonce: u64,
    },
    Flushed {
        to: String,
        nonce: u64,
        lines: Vec<String>,
    },
    Reload(Vec<String>),
}

/// Flushes asked of the owners, waiting for their answers: the lines not answered yet.
#[derive(Default)]
struct Waiting {
    next: u64,
    asked: HashMap<u64, (HashSet<String>, oneshot::Sender<()>)>,
}

/// Whether each half of the channel works; the replica is degraded unless both do.
struct Health {
    subscribed: AtomicBool,
    publishing: AtomicBool,
    /// `true` while both work.
    up: watch::Sender<Option<bool>>,
}

impl Health {
    fn set(&self, half: &AtomicBool, ok: bool) {
        half.store(ok, Ordering::Release);
        let both = self.subscribed.load(Ordering::Acquire) && self.publishing.load(Ordering::Acquire);
        self.up.send_if_modified(|now| {
            // Before the first subscription nothing is known: not degraded, unless something fails.
            let next = match *now {
                None if !both && ok => None,
                _ => Some(both),
            };
            let changed = *now != next;
            *now = next;
            changed
        });
    }
}

/// A handle on the bus (cheap to clone).
#[derive(Clone)]
pub struct Bus {
    name: Arc<str>,
    channel: Arc<str>,
    pool: deadpool_redis::Pool,
    client: redis::Client,
    tx: mpsc::Sender<Note>,
    health: Arc<Health>,
    waiting: Arc<Mutex<Waiting>>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("replica", &self.name)
            .field("channel", &self.channel)
            .finish()
    }
}

/// The receiving end of the queue, taken by [`Bus::run`].
pub struct BusQueue(mpsc::Receiver<Note>);

impl Bus {
    /// The bus of replica `name` on Redis at `url`, channel `{prefix}:live`. Connects
    /// only when [`Bus::run`] starts it.
    pub fn new(name: &str, url: &str, prefix: &str) -> Result<(Bus, BusQueue), BusError> {
        let pool = deadpool_redis::Config::from_url(url)
            .create_pool(Some(deadpool_redis::Runtime::Tokio1))
            .map_err(|e| BusError::Url(e.to_string()))?;
        let client = redis::Client::open(url).map_err(|e| BusError::Url(e.to_string()))?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let health = Arc::new(Health {
            subscribed: AtomicBool::new(false),
            publishing: AtomicBool::new(true),
            up: watch::Sender::new(None),
        });
        let bus = Bus {
            name: Arc::from(name),
            channel: Arc::from(format!("{prefix}:live")),
            pool,
            client,
            tx,
            health,
            waiting: Arc::default(),
        };
        Ok((bus, BusQueue(rx)))
    }

    /// This replica's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the other replicas can be reached now.
    pub fn is_up(&self) -> bool {
        *self.health.up.borrow() == Some(true)
    }

    fn queue(&self, note: Note) {
        if self.tx.try_send(note).is_err() {
            metrics::counter!(m::CLUSTER_BUS_DROPPED).increment(1);
        }
    }

    /// The owner's new state of a machine or line (serialised by the sender task).
    pub fn state(&self, kind: EntityKind, id: &str, paced: bool, json: Arc<EntityJson>) {
        self.queue(Note::State {
            kind,
            id: id.to_owned(),
            paced,
            json,
        });
    }

    /// People changed `topic` in the store here.
    pub fn changed(&self, topic: Topic) {
        self.queue(Note::Changed(topic));
    }

    /// A parts correction for the owner of `machine`.
    pub fn correct(&self, machine: &str, at: EpochMs, tally: Tally) {
        self.queue(Note::Correct {
            machine: machine.to_owned(),
            at,
            tally,
        });
    }

    /// A trend warning for the owner of `machine`.
    pub fn trend(&self, machine: &str, warning: Option<TrendWarning>) {
        self.queue(Note::Trend {
            machine: machine.to_owned(),
            warning,
        });
    }

    /// Asks the owners of `machines` to start them again from the store (an edge's
    /// records grew their history).
    pub fn reload(&self, machines: Vec<String>) {
        self.queue(Note::Reload(machines));
    }

    /// Asks the owners of `lines` to write what they hold, and waits (at most
    /// [`FLUSH_WAIT`]) until each has answered; at once while Redis is away.
    pub async fn flush_owners(&self, lines: Vec<String>) {
        if lines.is_empty() || !self.is_up() {
            return;
        }
        let (done, answered) = oneshot::channel();
        let nonce = {
            let mut w = lock(&self.waiting);
            w.next += 1;
            let nonce = w.next;
            w.asked.insert(nonce, (lines.iter().cloned().collect(), done));
            nonce
        };
        self.queue(Note::Flush { lines, nonce });
        if tokio::time::timeout(FLUSH_WAIT, answered).await.is_err() {
            tracing::debug!(nonce, "not every owner answered a flush; reading the store as it is");
        }
        lock(&self.waiting).asked.remove(&nonce);
    }

    /// Answers a flush request: what this replica held of `lines` is written.
    pub fn flushed(&self, to: &str, nonce: u64, lines: Vec<String>) {
        self.queue(Note::Flushed {
            to: to.to_owned(),
            nonce,
            lines,
        });
    }

    /// An owner answered one of this replica's flush requests.
    fn answered(&self, nonce: u64, lines: &[String]) {
        let mut w = lock(&self.waiting);
        let done = w.asked.get_mut(&nonce).is_some_and(|(left, _)| {
            lines.iter().for_each(|l| {
                left.remove(l);
            });
            left.is_empty()
        });
        if done && let Some((_, tx)) = w.asked.remove(&nonce) {
            let _ = tx.send(());
        }
    }

    /// Tells the others this replica handed its leases over (sent now, not queued: the
    /// process is stopping).
    pub async fn released(&self) {
        let text = Outgoing::Released { from: &self.name }.encode();
        let sent = tokio::time::timeout(TIMEOUT, async {
            let mut conn = self.pool.get().await.ok()?;
            redis::cmd("PUBLISH")
                .arg(&*self.channel)
                .arg(text)
                .query_async::<i64>(&mut conn)
                .await
                .ok()
        })
        .await;
        if !matches!(sent, Ok(Some(_))) {
            tracing::warn!(replica = %self.name, "cannot tell the other replicas about the hand-over; they take the leases at their next round");
        }
    }

    /// Starts sending, receiving (each other replica's message goes to `receive`) and
    /// keeping the hub's `degraded` notice true.
    pub fn run<F>(&self, queue: BusQueue, hub: actix::Addr<Hub>, receive: F)
    where
        F: Fn(BusMessage) + 'static,
    {
        metrics::gauge!(m::CLUSTER_REDIS_UP).set(0.0);
        let receive: Rc<dyn Fn(BusMessage)> = Rc::new(receive);
        actix_rt::spawn(self.clone().send_loop(queue.0));
        actix_rt::spawn(self.clone().receive_loop(receive.clone()));
        actix_rt::spawn(self.clone().watch_health(hub, receive));
    }

    fn encode(&self, note: &Note) -> Option<String> {
        let from = &*self.name;
        Some(match note {
            Note::State { kind, id, paced, json } => {
                let data = json.data();
                let raw: &RawValue = serde_json::from_str(&data).ok()?;
                Outgoing::State {
                    from,
                    kind: *kind,
                    id,
                    paced: *paced,
                    data: raw,
                }
                .encode()
            }
            Note::Resync => Outgoing::Resync { from }.encode(),
            Note::Changed(topic) => Outgoing::Changed { from, topic: *topic }.encode(),
            Note::Correct { machine, at, tally } => Outgoing::Correct {
                from,
                machine,
                at: *at,
                tally: *tally,
            }
            .encode(),
            Note::Trend { machine, warning } => Outgoing::Trend {
                from,
                machine,
                warning: *warning,
            }
            .encode(),
            Note::Reload(machines) => Outgoing::Reload { from, machines }.encode(),
            Note::Flush { lines, nonce } => Outgoing::Flush {
                from,
                lines,
                nonce: *nonce,
            }
            .encode(),
            Note::Flushed { to, nonce, lines } => Outgoing::Flushed {
                from,
                to,
                nonce: *nonce,
                lines,
            }
            .encode(),
        })
    }

    /// Sends what is queued, as one pipeline per batch; pings Redis when idle.
    async fn send_loop(self, mut rx: mpsc::Receiver<Note>) {
        let mut batch = Vec::with_capacity(256);
        loop {
            batch.clear();
            let got = match tokio::time::timeout(PING_EVERY, rx.recv_many(&mut batch, 256)).await {
                Ok(0) => return,
                Ok(n) => n,
                Err(_) => 0,
            };
            let mut pipe = redis::pipe();
            if got == 0 {
                pipe.cmd("PING").ignore();
            }
            for note in &batch {
                if let Some(text) = self.encode(note) {
                    pipe.cmd("PUBLISH").arg(&*self.channel).arg(text).ignore();
                }
            }
            let sent = tokio::time::timeout(TIMEOUT, async {
                let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
                pipe.query_async::<()>(&mut conn).await.map_err(|e| e.to_string())
            })
            .await
            .unwrap_or_else(|_| Err("timed out".to_owned()));
            match sent {
                Ok(()) => {
                    metrics::counter!(m::CLUSTER_BUS_MESSAGES, "direction" => "out").increment(got as u64);
                    self.health.set(&self.health.publishing, true);
                }
                Err(e) => {
                    if self.health.publishing.load(Ordering::Acquire) {
                        tracing::warn!(error = %e, "cannot send to Redis: other replicas miss this one's changes until it is back");
                    }
                    metrics::counter!(m::CLUSTER_BUS_DROPPED).increment(got as u64);
                    self.health.set(&self.health.publishing, false);
                }
            }
        }
    }

    /// Subscribes, hands each message on, and subscribes again whenever the connection
    /// drops.
    async fn receive_loop(self, receive: Rc<dyn Fn(BusMessage)>) {
        let mut wait = RETRY_FIRST;
        loop {
            let subscribed = tokio::time::timeout(TIMEOUT, async {
                let mut pubsub = self.client.get_async_pubsub().await?;
                pubsub.subscribe(&*self.channel).await?;
                Ok::<_, redis::RedisError>(pubsub)
            })
            .await;
            let pubsub = match subscribed {
                Ok(Ok(p)) => p,
                Ok(Err(e)) => {
                    self.lost(&e.to_string());
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(RETRY_MAX);
                    continue;
                }
                Err(_) => {
                    self.lost("timed out");
                    continue;
                }
            };
            wait = RETRY_FIRST;
            tracing::info!(channel = %self.channel, "subscribed to the replicas' channel");
            self.health.set(&self.health.subscribed, true);
            let mut messages = pubsub.into_on_message();
            while let Some(msg) = messages.next().await {
                metrics::counter!(m::CLUSTER_BUS_MESSAGES, "direction" => "in").increment(1);
                match BusMessage::decode(msg.get_payload_bytes()) {
                    Ok(message) if message.from() == &*self.name => {}
                    Ok(BusMessage::Flushed { to, nonce, lines, .. }) => {
                        if to == *self.name {
                            self.answered(nonce, &lines);
                        }
                    }
                    Ok(message) => receive(message),
                    Err(e) => tracing::warn!(error = %e, "ignoring a message on the replicas' channel"),
                }
            }
            self.lost("connection closed");
        }
    }

    fn lost(&self, why: &str) {
        if self.health.subscribed.load(Ordering::Acquire) || self.health.up.borrow().is_none() {
            tracing::warn!(error = why, "not subscribed to the replicas' channel; trying again");
        }
        self.health.set(&self.health.subscribed, false);
    }

    /// Follows the channel's health: `degraded` notices to the sockets, and after each
    /// return this replica's states to the others, a request for theirs, then fresh
    /// snapshots.
    async fn watch_health(self, hub: actix::Addr<Hub>, receive: Rc<dyn Fn(BusMessage)>) {
        let mut up = self.health.up.subscribe();
        let mut was_down = false;
        while up.changed().await.is_ok() {
            let now = *up.borrow_and_update();
            match now {
                Some(true) => {
                    metrics::gauge!(m::CLUSTER_REDIS_UP).set(1.0);
                    // What this replica sent meanwhile was lost, and so was what it missed.
                    receive(BusMessage::Resync {
                        from: self.name.to_string(),
                    });
                    self.queue(Note::Resync);
                    tokio::time::sleep(SETTLE).await;
                    // Still up after the owners had their time: the sockets start again from
                    // snapshots that hold everything sent meanwhile.
                    if was_down && *up.borrow() == Some(true) {
                        tracing::info!("the replicas reach each other again; sockets resynchronised");
                        hub.do_send(Degraded(None));
                        hub.do_send(ResnapshotAll);
                        was_down = false;
                    }
                }
                Some(false) => {
                    was_down = true;
                    metrics::gauge!(m::CLUSTER_REDIS_UP).set(0.0);
                    hub.do_send(Degraded(Some(
                        "the replicas cannot reach each other (Redis): lines run by other replicas are not live here"
                            .to_owned(),
                    )));
                }
                None => {}
            }
        }
    }
}
