//! The nchan side's publisher: posts frames of a given size at a given rate to nchan's
//! publisher location, for the subscribers to count like MS5's updates.

use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior, interval};

use super::frames::padded_frame;
use super::summary::Published;

/// What to publish.
#[derive(Debug, Clone)]
pub struct PublishPlan {
    /// nchan's publisher location.
    pub url: String,
    /// Frames per second.
    pub rate: f64,
    /// Bytes per frame.
    pub frame_bytes: usize,
}

/// Posts frames until `until`, one after another; a late tick posts at once to keep the
/// rate.
pub async fn run(client: &awc::Client, plan: &PublishPlan, until: Instant) -> Published {
    let mut published = Published {
        frame_bytes: plan.frame_bytes,
        ..Published::default()
    };
    let mut tick = interval(Duration::from_secs_f64(1.0 / plan.rate));
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut seq = 0;
    loop {
        tick.tick().await;
        if Instant::now() >= until {
            break;
        }
        seq += 1;
        let body = padded_frame(seq, plan.frame_bytes);
        let sent = client
            .post(plan.url.as_str())
            .insert_header(("Content-Type", "application/json"))
            .send_body(body)
            .await;
        match sent {
            Ok(mut response) if response.status().is_success() => {
                let _ = response.body().await;
                published.frames += 1;
            }
            _ => published.failed += 1,
        }
    }
    published
}
