//! The live plant as actors: one per machine and line, a hub for fan-out, one actor per
//! WebSocket, and a writer that batches telemetry to the store.
//!
//! Actors are thin: they hold state, call `crate::domain`, and send messages. Machine and
//! line actors run under `actix::Supervisor`: a panic restarts that actor only, and its
//! state (kept in the actor value across the restart) is repaired, not lost.

pub mod andon;
pub mod andon_ticket;
pub mod entity_json;
pub mod hub;
pub mod job_board;
pub mod line;
pub mod live_cache;
pub mod machine;
pub mod notifier;
pub mod outbox_body;
pub mod plant;
pub mod report;
pub mod report_builder;
pub mod telemetry_writer;
pub mod trend_watch;
pub mod ws_session;

use std::panic::{AssertUnwindSafe, catch_unwind};

use actix::{Actor, ActorContext};

/// Runs `f`; if it panics, logs it, counts it and stops the actor so its supervisor
/// restarts it. Returns `None` after a panic.
pub(crate) fn guarded<A, R>(
    actor: &mut A,
    ctx: &mut A::Context,
    name: &'static str,
    f: impl FnOnce(&mut A) -> R,
) -> Option<R>
where
    A: Actor,
    A::Context: ActorContext,
{
    match catch_unwind(AssertUnwindSafe(|| f(actor))) {
        Ok(r) => Some(r),
        Err(_) => {
            tracing::error!(actor = name, "actor panicked; restarting it");
            metrics::counter!(crate::metrics::ACTOR_RESTARTS, "actor" => name).increment(1);
            ctx.stop();
            None
        }
    }
}
