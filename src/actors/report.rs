//! The shift reporter: when a shift ends, it stores that shift's report for every line.
//! It runs under a supervisor and looks at the injected clock every `check_interval`
//! (and whenever sent [`CheckShifts`], which is how tests drive it on a manual clock):
//! each shift that ended since `catch_up` ago and has no stored report gets one, so a
//! shift that ended while MS5 was down is stored when it starts again.

use std::time::Duration;

use actix::prelude::*;

use super::report_builder::ReportBuilder;
use crate::clock::Clock;
use crate::store::StoreError;

/// Store the reports of shifts that have ended and have none; answers how many line
/// reports were stored.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "Result<usize, StoreError>")]
pub struct CheckShifts;

/// Stores shift reports as shifts end.
pub struct ShiftReporter {
    builder: ReportBuilder,
    clock: Clock,
    every: Duration,
    catch_up_ms: i64,
}

impl ShiftReporter {
    /// A reporter that looks every `every` and catches up on shifts that ended up to
    /// `catch_up` ago.
    pub fn new(builder: ReportBuilder, clock: Clock, every: Duration, catch_up: Duration) -> Self {
        ShiftReporter {
            builder,
            clock,
            every,
            catch_up_ms: i64::try_from(catch_up.as_millis()).unwrap_or(i64::MAX),
        }
    }

    /// Starts it under a supervisor.
    pub fn start_supervised(self) -> Addr<ShiftReporter> {
        let (builder, clock, every, catch_up_ms) = (self.builder, self.clock, self.every, self.catch_up_ms);
        Supervisor::start(move |_| ShiftReporter {
            builder: builder.clone(),
            clock: clock.clone(),
            every,
            catch_up_ms,
        })
    }
}

impl Actor for ShiftReporter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.notify(CheckShifts);
        if !self.every.is_zero() {
            ctx.run_interval(self.every, |_, ctx| ctx.notify(CheckShifts));
        }
    }
}

impl Supervised for ShiftReporter {
    fn restarting(&mut self, _: &mut Context<Self>) {
        tracing::warn!("shift reporter restarting");
    }
}

impl Handler<CheckShifts> for ShiftReporter {
    type Result = AtomicResponse<Self, Result<usize, StoreError>>;

    fn handle(&mut self, _: CheckShifts, _: &mut Context<Self>) -> Self::Result {
        let builder = self.builder.clone();
        let now = self.clock.now_ms();
        let after = now.saturating_sub(self.catch_up_ms);
        AtomicResponse::new(Box::pin(
            async move {
                let stored = builder.store_ended(after, now).await;
                if let Err(e) = &stored {
                    tracing::warn!(error = %e, "cannot store shift reports; trying again at the next check");
                }
                stored
            }
            .into_actor(self),
        ))
    }
}
