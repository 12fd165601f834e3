//! `AndonTicketActor`: one per open ticket. Arms a timer for its next escalation, fires
//! every level that is due (each once: the level is stored with its pages in one
//! transaction), and applies acknowledge/resolve/cancel.

use std::sync::Arc;

use actix::prelude::*;

use super::andon::{AndonDesk, AndonError, TicketChanged, TicketClosed, TicketReloaded};
use super::notifier::{Deliver, Notifier};
use crate::clock::Clock;
use crate::cluster::ownership::Ownership;
use crate::domain::andon::{
    Action, DueKind, EscalationPolicy, Ticket, TicketState, due_by, mark_fired, next_due, transition,
};
use crate::domain::andon_assign::assign;
use crate::domain::flags::Flag;
use crate::domain::snapshot::{TicketView, ticket_view};
use crate::flags::FeatureFlags;
use crate::metrics as m;
use crate::store::{NewNotification, Store};

/// Acknowledge, resolve or cancel.
#[derive(Message)]
#[rtype(result = "Result<TicketView, AndonError>")]
pub struct Act {
    /// What.
    pub action: Action,
    /// Who.
    pub by: String,
    /// Why, optionally.
    pub comment: Option<String>,
}

/// Assign the ticket to a person, or to nobody. The assignee was checked by the caller.
#[derive(Message)]
#[rtype(result = "Result<TicketView, AndonError>")]
pub struct Assign {
    /// The username, or `None` to unassign.
    pub assignee: Option<String>,
    /// Who assigns.
    pub by: String,
}

/// Fire whatever is due now (the timer does this; tests with a manual clock send it).
#[derive(Message)]
#[rtype(result = "()")]
pub struct FireDue;

/// The ticket as the store holds it now (changed on another replica): taken as it is.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Replace(pub Ticket);

/// The actor.
pub struct AndonTicketActor {
    ticket: Ticket,
    /// Which lines run here, and the ticket's line: only the replica that owns the line
    /// escalates (see `cluster`).
    ownership: Arc<Ownership>,
    line: Option<usize>,
    policy: EscalationPolicy,
    store: Store,
    desk: Addr<AndonDesk>,
    notifier: Addr<Notifier>,
    clock: Clock,
    flags: Arc<FeatureFlags>,
    timer: Option<SpawnHandle>,
}

impl AndonTicketActor {
    /// The actor of a stored ticket on line `line` of the plant.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ticket: Ticket,
        (ownership, line): (Arc<Ownership>, Option<usize>),
        policy: EscalationPolicy,
        store: Store,
        desk: Addr<AndonDesk>,
        notifier: Addr<Notifier>,
        clock: Clock,
        flags: Arc<FeatureFlags>,
    ) -> Self {
        AndonTicketActor {
            ticket,
            ownership,
            line,
            policy,
            store,
            desk,
            notifier,
            clock,
            flags,
            timer: None,
        }
    }

    fn view(&self) -> TicketView {
        ticket_view(&self.ticket, next_due(&self.ticket, &self.policy))
    }

    fn arm(&mut self, ctx: &mut Context<Self>) {
        if let Some(t) = self.timer.take() {
            ctx.cancel_future(t);
        }
        if let Some(due) = next_due(&self.ticket, &self.policy) {
            let wait = u64::try_from((due.at - self.clock.now_ms()).max(0)).unwrap_or(0);
            self.timer = Some(ctx.run_later(std::time::Duration::from_millis(wait), |act, ctx| act.fire_due(ctx)));
        }
    }

    /// Fires every escalation due now, in order, then re-arms.
    fn fire_due(&mut self, ctx: &mut Context<Self>) {
        if !self.flags.get(Flag::EscalationSystem) {
            // Held: turning the flag on sends `FireDue` to every ticket (`CheckNow`).
            return;
        }
        if self.line.is_some_and(|l| !self.ownership.owns(l)) {
            // Another replica escalates it; taking the line over sends `FireDue` again.
            return;
        }
        let now = self.clock.now_ms();
        let dues = due_by(&self.ticket, &self.policy, now);
        if dues.is_empty() {
            self.arm(ctx);
            return;
        }
        for due in dues {
            mark_fired(&mut self.ticket, &due);
            let pages: Vec<NewNotification> = due
                .targets
                .iter()
                .map(|t| NewNotification {
                    action: "escalated",
                    level: due.level,
                    target: t.clone(),
                })
                .collect();
            let kind = match due.kind {
                DueKind::Response => "response",
                DueKind::ResolveDeadline => "resolve_deadline",
            };
            metrics::counter!(m::ANDON_ESCALATIONS, "level" => due.level.to_string(), "kind" => kind).increment(1);
            tracing::warn!(
                ticket = self.ticket.id,
                level = due.level,
                kind,
                "andon ticket escalated"
            );
            let (store, ticket, level) = (self.store.clone(), self.ticket.clone(), due.level);
            // Wait: the next message must see the level stored, so nothing is paged twice.
            ctx.wait(
                async move { store.record_escalation(&ticket, level, now, &pages).await }
                    .into_actor(self)
                    .map(|stored, act, _| match stored {
                        Ok(ids) if !ids.is_empty() => act.notifier.do_send(Deliver(ids)),
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e, ticket = act.ticket.id, "cannot store an escalation"),
                    }),
            );
        }
        self.desk.do_send(TicketChanged(self.view()));
        self.arm(ctx);
    }
}

impl Actor for AndonTicketActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // A level that fell due while the service was down fires once, now.
        self.fire_due(ctx);
    }
}

impl Supervised for AndonTicketActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.timer = None;
    }
}

impl Handler<Replace> for AndonTicketActor {
    type Result = ();

    fn handle(&mut self, msg: Replace, ctx: &mut Context<Self>) {
        // Sent at every lease round: an unchanged ticket is not shown (pushed) again.
        if self.ticket == msg.0 {
            return;
        }
        self.ticket = msg.0;
        self.desk.do_send(TicketReloaded(self.view()));
        self.arm(ctx);
    }
}

impl Handler<FireDue> for AndonTicketActor {
    type Result = ();

    fn handle(&mut self, _: FireDue, ctx: &mut Context<Self>) {
        self.fire_due(ctx);
    }
}

impl Handler<Act> for AndonTicketActor {
    type Result = AtomicResponse<Self, Result<TicketView, AndonError>>;

    fn handle(&mut self, msg: Act, _: &mut Context<Self>) -> Self::Result {
        let now = self.clock.now_ms();
        let next = match transition(&self.ticket, msg.action, &msg.by, now) {
            Ok(t) => t,
            Err(e) => return AtomicResponse::new(Box::pin(fut::ready(Err(AndonError::Conflict(e.to_string()))))),
        };
        let store = self.store.clone();
        let closing = matches!(next.state, TicketState::Resolved | TicketState::Cancelled);
        let kind = next.state.as_str();
        let (by, comment, id, stored) = (msg.by, msg.comment, next.id, next.clone());
        AtomicResponse::new(Box::pin(
            async move {
                // Everyone paged about the ticket hears that it is over.
                let pages: Vec<NewNotification> = if closing {
                    store
                        .paged_targets(id)
                        .await?
                        .into_iter()
                        .map(|target| NewNotification {
                            action: "resolved",
                            level: 0,
                            target,
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                store
                    .record_transition(&stored, kind, &by, comment.as_deref(), now, &pages)
                    .await
            }
            .into_actor(self)
            .map(move |result, act, ctx| {
                let ids = result.map_err(AndonError::Store)?;
                let priority = next.priority.as_str();
                let seconds = (now - next.raised_at).max(0) as f64 / 1000.0;
                match next.state {
                    TicketState::Acknowledged => {
                        metrics::histogram!(m::ANDON_TIME_TO_ACK, "priority" => priority).record(seconds)
                    }
                    TicketState::Resolved => {
                        metrics::histogram!(m::ANDON_TIME_TO_RESOLVE, "priority" => priority).record(seconds)
                    }
                    _ => {}
                }
                act.ticket = next;
                if !ids.is_empty() {
                    act.notifier.do_send(Deliver(ids));
                }
                let view = act.view();
                act.desk.do_send(TicketChanged(view.clone()));
                if closing {
                    if let Some(t) = act.timer.take() {
                        ctx.cancel_future(t);
                    }
                    act.desk.do_send(TicketClosed(act.ticket.id));
                } else {
                    act.arm(ctx);
                }
                Ok(view)
            }),
        ))
    }
}

impl Handler<Assign> for AndonTicketActor {
    type Result = AtomicResponse<Self, Result<TicketView, AndonError>>;

    fn handle(&mut self, msg: Assign, _: &mut Context<Self>) -> Self::Result {
        let next = match assign(&self.ticket, msg.assignee.as_deref()) {
            Ok(t) => t,
            Err(e) => return AtomicResponse::new(Box::pin(fut::ready(Err(AndonError::Conflict(e.to_string()))))),
        };
        let (store, now, stored) = (self.store.clone(), self.clock.now_ms(), next.clone());
        AtomicResponse::new(Box::pin(
            async move { store.record_assignment(&stored, &msg.by, now).await }
                .into_actor(self)
                .map(move |result, act, _| {
                    result.map_err(AndonError::Store)?;
                    // The timer stays armed as it was: a new assignee does not restart escalation.
                    act.ticket = next;
                    let view = act.view();
                    act.desk.do_send(TicketChanged(view.clone()));
                    Ok(view)
                }),
        ))
    }
}
