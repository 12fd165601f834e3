//! `Notifier`: delivers pages (webhooks) logged in the `notifications` table. Each
//! delivery runs on its own, with a per-attempt timeout and exponential backoff with jitter,
//! so an endpoint that is down or hangs never delays another delivery or an escalation.
//! Deliveries still pending are picked up again at start.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use rand::RngExt;

use crate::clock::Clock;
use crate::config::PagerSettings;
use crate::domain::andon::Ticket;
use crate::domain::page::{
    IDEMPOTENCY_HEADER, PageAction, PageEvent, PagerKind, SIGNATURE_HEADER, backoff_ms, generic_body, pagerduty_body,
    sign, slack_body, summary,
};
use crate::domain::plant::{PagerTarget, PlantModel};
use crate::metrics as m;
use crate::store::{NotificationRow, Store};

/// Deliver these logged notifications.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Deliver(pub Vec<i64>);

/// The actor.
pub struct Notifier {
    store: Store,
    plant: Arc<PlantModel>,
    settings: PagerSettings,
    clock: Clock,
    /// Deliveries running now: a delivery asked for twice (resumed at start and fired
    /// again) runs once.
    in_flight: HashSet<i64>,
}

impl Notifier {
    /// A notifier; it resumes pending deliveries when started.
    pub fn new(store: Store, plant: Arc<PlantModel>, settings: PagerSettings, clock: Clock) -> Self {
        Notifier {
            store,
            plant,
            settings,
            clock,
            in_flight: HashSet::new(),
        }
    }

    fn spawn_delivery(&mut self, id: i64, ctx: &mut Context<Self>) {
        if !self.in_flight.insert(id) {
            return;
        }
        let job = Delivery {
            id,
            store: self.store.clone(),
            plant: self.plant.clone(),
            settings: self.settings.clone(),
            clock: self.clock.clone(),
        };
        // Each delivery is its own future: one that waits or hangs delays no other.
        ctx.spawn(job.run().into_actor(self).map(move |_, act, _| {
            act.in_flight.remove(&id);
        }));
    }
}

impl Actor for Notifier {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let store = self.store.clone();
        ctx.spawn(
            async move { store.pending_notifications().await }.into_actor(self).map(
                |pending, act, ctx| match pending {
                    Ok(ids) => {
                        if !ids.is_empty() {
                            tracing::info!(count = ids.len(), "resuming pending pager deliveries");
                        }
                        ids.into_iter().for_each(|id| act.spawn_delivery(id, ctx));
                    }
                    Err(e) => tracing::error!(error = %e, "cannot load pending pager deliveries"),
                },
            ),
        );
    }
}

impl Handler<Deliver> for Notifier {
    type Result = ();

    fn handle(&mut self, msg: Deliver, ctx: &mut Context<Self>) {
        msg.0.into_iter().for_each(|id| self.spawn_delivery(id, ctx));
    }
}

/// Builds the HTTP client pages go out with (TLS through rustls with the Mozilla roots).
fn client(timeout: Duration) -> awc::Client {
    awc::Client::builder().timeout(timeout).finish()
}

/// The request a target gets for an event: body and extra headers.
fn request(
    target: &PagerTarget,
    event: &PageEvent,
    key: &str,
    now_seconds: i64,
) -> (String, Vec<(&'static str, String)>) {
    let mut headers = vec![(IDEMPOTENCY_HEADER, key.to_owned())];
    let body = match target.kind {
        PagerKind::Generic => {
            let body = generic_body(event);
            let secret = target.secret.as_deref().unwrap_or_default();
            headers.push((SIGNATURE_HEADER, sign(secret.as_bytes(), now_seconds, &body)));
            body
        }
        PagerKind::Slack => slack_body(event),
        PagerKind::Pagerduty => pagerduty_body(event, target.routing_key.as_deref().unwrap_or_default()),
        PagerKind::Log => String::new(),
    };
    (body, headers)
}

fn page_event(row: &NotificationRow, ticket: &Ticket, at: i64) -> PageEvent {
    PageEvent {
        action: if row.action == "resolved" {
            PageAction::Resolved
        } else {
            PageAction::Escalated
        },
        ticket: ticket.id,
        line: ticket.line.clone(),
        machine: ticket.machine.clone(),
        category: ticket.category.as_str().to_owned(),
        priority: ticket.priority.as_str().to_owned(),
        level: u32::try_from(row.level).unwrap_or(0),
        description: ticket.description.clone(),
        raised_at: ticket.raised_at,
        at,
    }
}

/// What one attempt came to.
enum Attempt {
    Delivered(u16),
    /// Worth retrying: status (if any) and error.
    Retry(Option<u16>, String),
    /// Will never succeed as sent (a 4xx other than 408/429).
    Refused(u16, String),
}

struct Delivery {
    id: i64,
    store: Store,
    plant: Arc<PlantModel>,
    settings: PagerSettings,
    clock: Clock,
}

impl Delivery {
    async fn run(self) {
        let (row, ticket) = match self.load().await {
            Some(found) => found,
            None => return,
        };
        let Some(target) = self.plant.andon.target(&row.target).cloned() else {
            let _ = self
                .store
                .update_notification(row.id, "failed", 0, None, Some("target no longer configured"), None)
                .await;
            return;
        };
        if target.kind == PagerKind::Log {
            let event = page_event(&row, &ticket, self.clock.now_ms());
            tracing::warn!(target = %target.name, page = %summary(&event), "andon page");
            metrics::counter!(m::PAGER_DELIVERIES, "target" => target.name.clone(), "outcome" => "delivered")
                .increment(1);
            let _ = self
                .store
                .update_notification(row.id, "delivered", 1, None, None, Some(self.clock.now_ms()))
                .await;
            return;
        }
        let client = client(self.settings.timeout);
        let mut attempts = u32::try_from(row.attempts).unwrap_or(0);
        let label = target.name.clone();
        while attempts < self.settings.max_attempts {
            attempts += 1;
            let now = self.clock.now_ms();
            let event = page_event(&row, &ticket, now);
            let (body, headers) = request(&target, &event, &row.idempotency_key, now / 1000);
            let outcome = send(&client, &target.url, body, headers).await;
            match outcome {
                Attempt::Delivered(status) => {
                    metrics::counter!(m::PAGER_DELIVERIES, "target" => label, "outcome" => "delivered").increment(1);
                    let _ = self
                        .store
                        .update_notification(
                            row.id,
                            "delivered",
                            attempts,
                            Some(status),
                            None,
                            Some(self.clock.now_ms()),
                        )
                        .await;
                    return;
                }
                Attempt::Refused(status, error) => {
                    tracing::error!(target = %label, status, %error, "pager endpoint refused the page");
                    metrics::counter!(m::PAGER_DELIVERIES, "target" => label, "outcome" => "failed").increment(1);
                    let _ = self
                        .store
                        .update_notification(row.id, "failed", attempts, Some(status), Some(&error), None)
                        .await;
                    return;
                }
                Attempt::Retry(status, error) => {
                    tracing::warn!(target = %label, attempt = attempts, %error, "page not delivered; will retry");
                    metrics::counter!(m::PAGER_DELIVERIES, "target" => label.clone(), "outcome" => "retry")
                        .increment(1);
                    let _ = self
                        .store
                        .update_notification(row.id, "pending", attempts, status, Some(&error), None)
                        .await;
                    if attempts >= self.settings.max_attempts {
                        break;
                    }
                    let base = i64::try_from(self.settings.backoff_base.as_millis()).unwrap_or(i64::MAX);
                    let max = i64::try_from(self.settings.backoff_max.as_millis()).unwrap_or(i64::MAX);
                    let jitter: f64 = rand::rng().random();
                    let wait = backoff_ms(attempts, base, max, jitter);
                    actix_rt::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(0))).await;
                }
            }
        }
        metrics::counter!(m::PAGER_DELIVERIES, "target" => label, "outcome" => "failed").increment(1);
        let _ = self
            .store
            .update_notification(
                row.id,
                "failed",
                attempts,
                None,
                Some("gave up after max_attempts"),
                None,
            )
            .await;
    }

    async fn load(&self) -> Option<(NotificationRow, Ticket)> {
        let row = match self.store.notification(self.id).await {
            Ok(Some(row)) if row.state == "pending" => row,
            Ok(_) => return None,
            Err(e) => {
                tracing::error!(error = %e, id = self.id, "cannot load pager delivery");
                return None;
            }
        };
        match self.store.ticket(row.ticket_id).await {
            Ok(Some(ticket)) => Some((row, ticket)),
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, id = self.id, "cannot load the ticket of a pager delivery");
                None
            }
        }
    }
}

async fn send(client: &awc::Client, url: &str, body: String, headers: Vec<(&'static str, String)>) -> Attempt {
    let mut request = client.post(url).insert_header(("Content-Type", "application/json"));
    for h in headers {
        request = request.insert_header(h);
    }
    match request.send_body(body).await {
        Ok(res) => {
            let status = res.status();
            let code = status.as_u16();
            if status.is_success() {
                Attempt::Delivered(code)
            } else if status.is_client_error() && code != 408 && code != 429 {
                Attempt::Refused(code, format!("HTTP {code}"))
            } else {
                Attempt::Retry(Some(code), format!("HTTP {code}"))
            }
        }
        Err(e) => Attempt::Retry(None, e.to_string()),
    }
}
