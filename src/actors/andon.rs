//! `AndonDesk`: the registry of open tickets. Raises tickets (by operators, or by itself
//! when a machine's downtime outlasts its auto-raise rule, once per downtime event), starts
//! one supervised [`AndonTicketActor`] per open ticket (reloaded at start), routes
//! acknowledge/resolve/cancel and assignments to it, and publishes tickets on the `andon` channels.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::andon_ticket::{Act, AndonTicketActor, Assign, FireDue, Replace};
use super::hub::{ANDON, Hub, Publish};
use super::notifier::Notifier;
use crate::clock::Clock;
use crate::cluster::bus::Bus;
use crate::cluster::ownership::Ownership;
use crate::domain::EpochMs;
use crate::domain::andon::{Action, Category, Priority, Ticket, TicketSource, TicketState, next_due, transition};
use crate::domain::cluster::bus_message::Topic;
use crate::domain::plant::{MachineIdx, PlantModel};
use crate::domain::snapshot::{TicketView, ticket_view};
use crate::flags::FeatureFlags;
use crate::metrics as m;
use crate::store::{Store, StoreError};

/// How often auto-raise rules are checked.
const TICK: Duration = Duration::from_secs(1);

/// Why an Andon request failed.
#[derive(Debug, thiserror::Error)]
pub enum AndonError {
    /// No such ticket.
    #[error("ticket {0} not found")]
    NotFound(i64),
    /// The transition is not allowed in the ticket's state.
    #[error("{0}")]
    Conflict(String),
    /// The request names something the plant does not have.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An actor did not answer.
    #[error("the andon service is not answering")]
    Unavailable,
}

/// A ticket to raise.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<TicketView, AndonError>")]
pub struct Raise {
    /// Line id.
    pub line: String,
    /// Machine id.
    pub machine: Option<String>,
    /// Category.
    pub category: Category,
    /// Priority.
    pub priority: Priority,
    /// What is wrong.
    pub description: String,
    /// Who (or `system`).
    pub by: String,
    /// Operator or automatic.
    pub source: TicketSource,
    /// The downtime event that raised it (automatic tickets).
    pub downtime: Option<(String, EpochMs)>,
}

/// Acknowledge, resolve or cancel ticket `id`.
#[derive(Message)]
#[rtype(result = "Result<TicketView, AndonError>")]
pub struct ActOn {
    /// Ticket.
    pub id: i64,
    /// The act.
    pub act: Act,
}

/// Assign ticket `id` to a person, or to nobody.
#[derive(Message)]
#[rtype(result = "Result<TicketView, AndonError>")]
pub struct AssignOn {
    /// Ticket.
    pub id: i64,
    /// The assignment.
    pub assign: Assign,
}

/// A ticket changed here (from its actor: acted on, escalated).
#[derive(Message)]
#[rtype(result = "()")]
pub struct TicketChanged(pub TicketView);

/// A ticket changed elsewhere (its actor took the store's copy).
#[derive(Message)]
#[rtype(result = "()")]
pub struct TicketReloaded(pub TicketView);

/// A ticket is resolved or cancelled; its actor may go.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TicketClosed(pub i64);

/// Downtime started, changed reason, or ended (from machine actors).
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct DowntimeNotice {
    /// The machine.
    pub machine: MachineIdx,
    /// Start of the downtime event (its key).
    pub start: EpochMs,
    /// Current reason.
    pub reason: String,
    /// End, once it ended.
    pub end: Option<EpochMs>,
}

/// Check auto-raise rules and fire due escalations now (tests with a manual clock).
#[derive(Message)]
#[rtype(result = "()")]
pub struct CheckNow;

struct Watch {
    due: EpochMs,
    reason: String,
    raised: Option<i64>,
}

/// The actor.
pub struct AndonDesk {
    plant: Arc<PlantModel>,
    store: Store,
    hub: Addr<Hub>,
    notifier: Addr<Notifier>,
    clock: Clock,
    flags: Arc<FeatureFlags>,
    tickets: HashMap<i64, Addr<AndonTicketActor>>,
    views: BTreeMap<i64, TicketView>,
    watches: HashMap<(MachineIdx, EpochMs), Watch>,
    ownership: Arc<Ownership>,
    bus: Option<Bus>,
}

impl AndonDesk {
    /// The desk; it reloads active tickets when started.
    pub fn new(
        plant: Arc<PlantModel>,
        store: Store,
        hub: Addr<Hub>,
        notifier: Addr<Notifier>,
        clock: Clock,
        flags: Arc<FeatureFlags>,
        ownership: Arc<Ownership>,
    ) -> Self {
        AndonDesk {
            ownership,
            bus: None,
            plant,
            store,
            hub,
            notifier,
            clock,
            flags,
            tickets: HashMap::new(),
            views: BTreeMap::new(),
            watches: HashMap::new(),
        }
    }

    /// Sends its states to the other replicas' desks (see `cluster::bus`).
    pub fn relay(mut self, bus: Option<Bus>) -> Self {
        self.bus = bus;
        self
    }

    /// Tells the other replicas a ticket changed here, so their desks read the store now
    /// (the owner of its line escalates it) rather than at their next lease round.
    fn tell_replicas(&self) {
        if let Some(bus) = &self.bus {
            bus.changed(Topic::Andon);
        }
    }

    /// An edge's ticket: the edge escalates it; here it is history, forwarded.
    fn escalated_by_an_edge(&self, t: &Ticket) -> bool {
        self.plant.line(&t.line).is_some_and(|(_, l)| l.edge.is_some())
    }

    fn start_ticket(&mut self, ticket: Ticket, ctx: &mut Context<Self>) -> TicketView {
        let policy = self
            .plant
            .andon
            .policies
            .policy(ticket.category, ticket.priority)
            .clone();
        let view = ticket_view(&ticket, next_due(&ticket, &policy));
        let id = ticket.id;
        let (store, desk, notifier, clock, flags) = (
            self.store.clone(),
            ctx.address(),
            self.notifier.clone(),
            self.clock.clone(),
            self.flags.clone(),
        );
        let owner = (self.ownership.clone(), self.plant.line(&ticket.line).map(|(i, _)| i));
        let addr = Supervisor::start(move |_| {
            AndonTicketActor::new(ticket, owner.clone(), policy, store, desk, notifier, clock, flags)
        });
        self.tickets.insert(id, addr);
        self.show(view.clone());
        view
    }

    /// Resolves an automatic ticket when its machine runs again, if the rule says so.
    fn auto_resolve(&self, machine: MachineIdx, id: i64, ctx: &mut Context<Self>) {
        let line = self.plant.machines[machine].line;
        if !self.plant.andon.rule_for(machine, line).is_some_and(|r| r.auto_resolve) {
            return;
        }
        // Someone may have resolved or cancelled it already: that conflict is fine.
        let (desk, store, now) = (ctx.address(), self.store.clone(), self.clock.now_ms());
        actix_rt::spawn(async move {
            let act = Act {
                action: Action::Resolve,
                by: "system".to_owned(),
                comment: Some("machine running again".to_owned()),
            };
            if let Ok(Ok(view)) = desk.send(ActOn { id, act }).await {
                audit_system(
                    &store,
                    now,
                    "andon.resolve",
                    id,
                    serde_json::json!({ "line": view.line, "auto": true }),
                )
                .await;
            }
        });
    }

    /// Publishes a ticket and keeps the open-ticket gauges true.
    fn show(&mut self, view: TicketView) {
        let closed = matches!(view.state, TicketState::Resolved | TicketState::Cancelled);
        let line = view.line.clone();
        let channels = vec![ANDON.to_owned(), format!("{ANDON}:{line}")];
        let entity = format!("{:012}", view.id);
        let publish = Publish::of(
            Arc::new(view.clone()),
            channels,
            entity,
            Arc::from(line.as_str()),
            0,
            closed,
        );
        self.hub.do_send(publish);
        if closed {
            self.views.remove(&view.id);
        } else {
            self.views.insert(view.id, view);
        }
        for l in &self.plant.lines {
            for p in Priority::ALL {
                let n = self
                    .views
                    .values()
                    .filter(|v| v.line == l.id && v.priority == p)
                    .count();
                metrics::gauge!(m::ANDON_OPEN, "line" => l.id.clone(), "priority" => p.as_str()).set(n as f64);
            }
            let last = self
                .views
                .values()
                .filter(|v| v.line == l.id && v.at_last_level())
                .count();
            metrics::gauge!(m::ANDON_AT_LAST_LEVEL, "line" => l.id.clone()).set(last as f64);
        }
    }

    fn validate(&self, r: &Raise) -> Result<(), AndonError> {
        let Some((_, line)) = self.plant.line(&r.line) else {
            return Err(AndonError::Invalid(format!("no line `{}`", r.line)));
        };
        if let Some(edge) = &line.edge {
            return Err(AndonError::Invalid(format!(
                "line `{}` is run by edge `{edge}`: raise its tickets there",
                r.line
            )));
        }
        if let Some(m) = &r.machine {
            match self.plant.machine(m) {
                Some((idx, _)) if line.machines.contains(&idx) => {}
                Some(_) => {
                    return Err(AndonError::Invalid(format!(
                        "machine `{m}` is not on line `{}`",
                        r.line
                    )));
                }
                None => return Err(AndonError::Invalid(format!("no machine `{m}`"))),
            }
        }
        Ok(())
    }

    /// Raises automatic tickets for downtime that outlasted its rule; the future ends when
    /// they are stored and their actors started.
    fn check_watches(&mut self) -> impl ActorFuture<Self, Output = ()> + 'static {
        let now = self.clock.now_ms();
        let mut raises = Vec::new();
        for (&(machine, start), w) in self.watches.iter_mut() {
            if w.raised.is_some() || w.due > now {
                continue;
            }
            let model = &self.plant.machines[machine];
            let Some(rule) = self.plant.andon.rule_for(machine, model.line) else {
                continue;
            };
            w.raised = Some(0);
            raises.push((
                machine,
                start,
                Raise {
                    line: model.line_id.clone(),
                    machine: Some(model.id.clone()),
                    category: rule.category,
                    priority: rule.priority,
                    description: format!(
                        "{} stopped for over {}: {}",
                        model.name,
                        humantime::format_duration(Duration::from_millis(u64::try_from(rule.after_ms).unwrap_or(0))),
                        w.reason
                    ),
                    by: "system".to_owned(),
                    source: TicketSource::Auto,
                    downtime: Some((model.id.clone(), start)),
                },
            ));
        }
        let store = self.store.clone();
        async move {
            let mut stored = Vec::new();
            for (machine, start, raise) in raises {
                let id = store.insert_ticket(&ticket_for(&raise, now)).await;
                stored.push((machine, start, raise, id));
            }
            stored
        }
        .into_actor(self)
        .map(move |stored, act, ctx| {
            for (machine, start, raise, id) in stored {
                match id {
                    Ok(Some(id)) => {
                        metrics::counter!(m::ANDON_RAISED, "line" => raise.line.clone(), "source" => "auto")
                            .increment(1);
                        let (store, details) = (
                            act.store.clone(),
                            serde_json::json!({ "line": raise.line, "machine": raise.machine, "auto": true }),
                        );
                        actix_rt::spawn(async move { audit_system(&store, now, "andon.raise", id, details).await });
                        let mut t = ticket_for(&raise, now);
                        t.id = id;
                        act.start_ticket(t, ctx);
                        match act.watches.get_mut(&(machine, start)) {
                            Some(w) => w.raised = Some(id),
                            // The stop ended while the ticket was being stored.
                            None => act.auto_resolve(machine, id, ctx),
                        }
                    }
                    // Raised before (e.g. before a restart): one ticket per downtime event.
                    Ok(None) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "cannot raise an automatic ticket; will retry");
                        if let Some(w) = act.watches.get_mut(&(machine, start)) {
                            w.raised = None;
                        }
                    }
                }
            }
        })
    }
}

impl AndonDesk {
    /// Restores tickets and the auto-raise watches of downtime still open at start, so a
    /// stop that began before a restart is still raised (once) and resolved.
    fn reload(
        &mut self,
        tickets: Result<Vec<Ticket>, StoreError>,
        open: Result<Vec<(String, EpochMs, String)>, StoreError>,
        ctx: &mut Context<Self>,
    ) {
        let tickets = tickets.unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot reload open andon tickets");
            Vec::new()
        });
        let mut raised_for = HashMap::new();
        for t in tickets {
            if self.escalated_by_an_edge(&t) {
                continue;
            }
            if let Some(key) = t.downtime.clone() {
                raised_for.insert(key, t.id);
            }
            self.start_ticket(t, ctx);
        }
        for (machine_id, start, reason) in open.unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot reload open downtime");
            Vec::new()
        }) {
            let Some((machine, model)) = self.plant.machine(&machine_id) else {
                continue;
            };
            let Some(rule) = self.plant.andon.rule_for(machine, model.line) else {
                continue;
            };
            self.watches.insert(
                (machine, start),
                Watch {
                    due: start + rule.after_ms,
                    reason,
                    raised: raised_for.get(&(machine_id, start)).copied(),
                },
            );
        }
    }
}

fn ticket_for(r: &Raise, at: EpochMs) -> Ticket {
    Ticket {
        id: 0,
        line: r.line.clone(),
        machine: r.machine.clone(),
        category: r.category,
        priority: r.priority,
        source: r.source,
        description: r.description.clone(),
        state: TicketState::Open,
        level: 0,
        deadline_fired: false,
        raised_at: at,
        raised_by: r.by.clone(),
        acknowledged_at: None,
        acknowledged_by: None,
        resolved_at: None,
        resolved_by: None,
        cancelled_at: None,
        cancelled_by: None,
        downtime: r.downtime.clone(),
        assignee: None,
    }
}

impl Actor for AndonDesk {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // After a panic the desk keeps its tickets and watches; reloading would start a
        // second actor per ticket.
        if self.tickets.is_empty() && self.watches.is_empty() {
            let store = self.store.clone();
            ctx.wait(
                async move { (store.active_tickets().await, store.open_downtime_events().await) }
                    .into_actor(self)
                    .map(|(tickets, open), act, ctx| act.reload(tickets, open, ctx)),
            );
        }
        ctx.run_interval(TICK, |act, ctx| {
            let check = act.check_watches();
            ctx.spawn(check);
        });
    }
}

impl Supervised for AndonDesk {
    fn restarting(&mut self, _: &mut Context<Self>) {
        tracing::warn!("andon desk restarting");
    }
}

impl Handler<Raise> for AndonDesk {
    type Result = ResponseActFuture<Self, Result<TicketView, AndonError>>;

    fn handle(&mut self, msg: Raise, _: &mut Context<Self>) -> Self::Result {
        if let Err(e) = self.validate(&msg) {
            return Box::pin(fut::ready(Err(e)));
        }
        let now = self.clock.now_ms();
        let ticket = ticket_for(&msg, now);
        let store = self.store.clone();
        Box::pin(async move { (store.insert_ticket(&ticket).await, ticket) }.into_actor(self).map(
            |(id, mut ticket), act, ctx| {
                let id = id?.ok_or_else(|| AndonError::Conflict("a ticket for this downtime exists already".into()))?;
                metrics::counter!(m::ANDON_RAISED, "line" => ticket.line.clone(), "source" => ticket.source.as_str()).increment(1);
                ticket.id = id;
                let view = act.start_ticket(ticket, ctx);
                act.tell_replicas();
                Ok(view)
            },
        ))
    }
}

impl Handler<ActOn> for AndonDesk {
    type Result = ResponseFuture<Result<TicketView, AndonError>>;

    fn handle(&mut self, msg: ActOn, _: &mut Context<Self>) -> Self::Result {
        if let Some(addr) = self.tickets.get(&msg.id).cloned() {
            return Box::pin(async move { addr.send(msg.act).await.map_err(|_| AndonError::Unavailable)? });
        }
        // Not active: unknown, or resolved/cancelled (every act on those is a conflict).
        let (store, now) = (self.store.clone(), self.clock.now_ms());
        Box::pin(async move {
            let ticket = store.ticket(msg.id).await?.ok_or(AndonError::NotFound(msg.id))?;
            match transition(&ticket, msg.act.action, &msg.act.by, now) {
                Err(e) => Err(AndonError::Conflict(e.to_string())),
                Ok(_) => Err(AndonError::Unavailable),
            }
        })
    }
}

impl Handler<AssignOn> for AndonDesk {
    type Result = ResponseFuture<Result<TicketView, AndonError>>;

    fn handle(&mut self, msg: AssignOn, _: &mut Context<Self>) -> Self::Result {
        if let Some(addr) = self.tickets.get(&msg.id).cloned() {
            return Box::pin(async move { addr.send(msg.assign).await.map_err(|_| AndonError::Unavailable)? });
        }
        // Not active: unknown, or closed (no assignment applies to those).
        let store = self.store.clone();
        Box::pin(async move {
            let ticket = store.ticket(msg.id).await?.ok_or(AndonError::NotFound(msg.id))?;
            match crate::domain::andon_assign::assign(&ticket, msg.assign.assignee.as_deref()) {
                Err(e) => Err(AndonError::Conflict(e.to_string())),
                Ok(_) => Err(AndonError::Unavailable),
            }
        })
    }
}

impl Handler<TicketChanged> for AndonDesk {
    type Result = ();

    fn handle(&mut self, msg: TicketChanged, _: &mut Context<Self>) {
        self.show(msg.0);
        self.tell_replicas();
    }
}

impl Handler<TicketReloaded> for AndonDesk {
    type Result = ();

    fn handle(&mut self, msg: TicketReloaded, _: &mut Context<Self>) {
        self.show(msg.0);
    }
}

impl Handler<TicketClosed> for AndonDesk {
    type Result = ();

    fn handle(&mut self, msg: TicketClosed, _: &mut Context<Self>) {
        // Dropping the address lets the ticket's actor finish.
        self.tickets.remove(&msg.0);
    }
}

impl Handler<DowntimeNotice> for AndonDesk {
    type Result = ();

    fn handle(&mut self, msg: DowntimeNotice, ctx: &mut Context<Self>) {
        let key = (msg.machine, msg.start);
        let Some(model) = self.plant.machines.get(msg.machine) else {
            return;
        };
        let Some(rule) = self.plant.andon.rule_for(msg.machine, model.line).cloned() else {
            return;
        };
        if msg.end.is_some() {
            let Some(w) = self.watches.remove(&key) else { return };
            if let Some(id) = w.raised.filter(|id| *id > 0) {
                self.auto_resolve(msg.machine, id, ctx);
            }
            return;
        }
        let w = self.watches.entry(key).or_insert_with(|| Watch {
            due: msg.start + rule.after_ms,
            reason: msg.reason.clone(),
            raised: None,
        });
        if let Some(reason) = crate::domain::downtime::updated_reason(&w.reason, &msg.reason) {
            w.reason = reason;
        }
        let check = self.check_watches();
        ctx.spawn(check);
    }
}

impl Handler<CheckNow> for AndonDesk {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, _: CheckNow, _: &mut Context<Self>) -> Self::Result {
        AtomicResponse::new(Box::pin(self.check_watches().then(|_, act, _| {
            let tickets: Vec<_> = act.tickets.values().cloned().collect();
            async move {
                for t in tickets {
                    let _ = t.send(FireDue).await;
                }
            }
            .into_actor(act)
        })))
    }
}

/// One replica of several: take the open tickets as the store holds them (raised,
/// acknowledged or closed on another replica), then fire what is due on the lines this
/// replica owns. Sent after each lease round.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Resync;

impl Handler<Resync> for AndonDesk {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, _: Resync, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        AtomicResponse::new(Box::pin(
            async move { store.active_tickets().await }
                .into_actor(self)
                .then(|active, act, ctx| {
                    let store = act.store.clone();
                    let mut gone: Vec<i64> = Vec::new();
                    match active {
                        Ok(active) => {
                            let open: HashSet<i64> = active.iter().map(|t| t.id).collect();
                            gone = act.tickets.keys().copied().filter(|id| !open.contains(id)).collect();
                            for t in active {
                                if act.escalated_by_an_edge(&t) {
                                    continue;
                                }
                                match act.tickets.get(&t.id) {
                                    Some(addr) => addr.do_send(Replace(t)),
                                    None => {
                                        act.start_ticket(t, ctx);
                                    }
                                }
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "cannot read the open andon tickets"),
                    }
                    for id in &gone {
                        act.tickets.remove(id);
                    }
                    let tickets: Vec<_> = act.tickets.values().cloned().collect();
                    async move {
                        // Closed elsewhere: shown once more as they are, then gone.
                        let mut closed = Vec::new();
                        for id in gone {
                            if let Ok(Some(t)) = store.ticket(id).await {
                                closed.push(t);
                            }
                        }
                        for t in tickets {
                            let _ = t.send(FireDue).await;
                        }
                        closed
                    }
                    .into_actor(act)
                    .map(|closed, act, _| {
                        for t in closed {
                            act.show(ticket_view(&t, None));
                        }
                    })
                }),
        ))
    }
}

/// Audits a ticket transition MS5 made by itself (automatic raise and resolve).
async fn audit_system(store: &Store, at: EpochMs, action: &'static str, ticket: i64, details: serde_json::Value) {
    let entry = crate::store::AuditEntry {
        at,
        actor: "system".to_owned(),
        action,
        target: Some(ticket.to_string()),
        outcome: "ok",
        source: Some("ms5".to_owned()),
        details,
    };
    store.record_audit(&entry).await;
}
