//! The latency probe: about every `every` (jittered), post a product change for one machine through
//! `POST /api/v1/ingest` and time until a frame on `machine:{id}` carries the new product
//! (`data.product`, in a protocol 1 update or snapshot or a protocol 2 patch).

use std::time::Duration;

use awc::ws::{Frame, Message};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::time::{Instant, sleep_until};

use super::Plan;
use super::clients::{Conn, open};
use super::frames::product_on;
use super::summary::Latency;

/// How long one product change may take to show before it counts as timed out.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the probe changes, and where it posts.
#[derive(Debug, Clone)]
pub struct ProbePlan {
    /// Mean time between two changes.
    pub every: Duration,
    /// The machine whose channel is watched.
    pub machine: String,
    /// Its product tag.
    pub tag: String,
    /// Product codes and the names the machine shows for them.
    pub products: Vec<(i64, String)>,
    /// `POST` target for the samples.
    pub ingest_url: String,
}

/// The probe's own socket, subscribed to the machine's channel, and the product it shows.
pub struct Probe {
    conn: Conn,
    channel: String,
    current: Option<String>,
}

/// Opens the probe's socket and reads the machine's product from its snapshot.
pub async fn open_probe(client: &awc::Client, plan: &Plan, probe: &ProbePlan) -> Result<Probe, String> {
    let channel = format!("machine:{}", probe.machine);
    let (conn, snapshot) = open(client, plan, &channel, None).await?;
    let current = snapshot.and_then(|text| product_on(&text, &channel));
    Ok(Probe { conn, channel, current })
}

struct Pending {
    expected: String,
    sent: Instant,
}

/// Runs the probe until `until`; returns the counts and the matched latencies in ms.
pub async fn run(plan: &Plan, probe: &ProbePlan, mut p: Probe, until: Instant) -> (Latency, Vec<f64>) {
    let mut latency = Latency::default();
    let mut samples = Vec::new();
    let mut pending: Option<Pending> = None;
    // The answer to the pending change's ingest request, until it came.
    let mut ingest: Option<oneshot::Receiver<bool>> = None;
    let mut next_at = Instant::now();
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    loop {
        let timeout_at = pending.as_ref().map_or(until, |q| q.sent + PROBE_TIMEOUT);
        tokio::select! {
            _ = sleep_until(until) => break,
            _ = sleep_until(next_at), if pending.is_none() => {
                next_at += jittered(probe.every, &mut seed);
                let Some((code, name)) = next_product(&probe.products, p.current.as_deref()) else { break };
                latency.probes += 1;
                let Ok((addr, request)) = ingest_request(&probe.ingest_url, plan.token.as_deref(), &probe.tag, code) else {
                    latency.ingest_failed += 1;
                    continue;
                };
                // Connected first: the clock starts when the request is written.
                let stream = match TcpStream::connect(&addr).await {
                    Ok(s) if s.set_nodelay(true).is_ok() => s,
                    _ => {
                        latency.ingest_failed += 1;
                        continue;
                    }
                };
                let (tx, rx) = oneshot::channel();
                let sent = Instant::now();
                actix_rt::spawn(post_change(stream, request, tx));
                pending = Some(Pending { expected: name, sent });
                ingest = Some(rx);
            }
            _ = sleep_until(timeout_at), if pending.is_some() => {
                latency.timed_out += 1;
                p.current = pending.take().map(|q| q.expected);
            }
            ok = recv(&mut ingest), if ingest.is_some() => {
                ingest = None;
                if !ok {
                    latency.ingest_failed += 1;
                    pending = None;
                }
            }
            frame = p.conn.next() => match frame {
                Some(Ok(Frame::Text(text))) => {
                    if let Some(q) = &pending
                        && product_on(&text, &p.channel).as_deref() == Some(q.expected.as_str())
                    {
                        samples.push(q.sent.elapsed().as_secs_f64() * 1_000.0);
                        latency.matched += 1;
                        p.current = pending.take().map(|q| q.expected);
                    }
                }
                Some(Ok(Frame::Ping(b))) => {
                    if p.conn.send(Message::Pong(b)).await.is_err() {
                        break;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
        }
        if Instant::now() > next_at + probe.every {
            // A probe that took longer than a period: start the next one from now.
            next_at = Instant::now();
        }
    }
    (latency, samples)
}

/// Whether the ingest request succeeded (`false` also when its task went away).
async fn recv(rx: &mut Option<oneshot::Receiver<bool>>) -> bool {
    match rx {
        Some(rx) => rx.await.unwrap_or(false),
        None => false,
    }
}

/// `every` × a factor in [0.5, 1.5): changes land at every phase of the server's own
/// periods (simulator steps, push coalescing) instead of locking onto one.
pub fn jittered(every: Duration, seed: &mut u64) -> Duration {
    // xorshift64: enough spread for this, and no dependency.
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    let unit = (*seed >> 11) as f64 / (1u64 << 53) as f64;
    every.mul_f64(0.5 + unit)
}

/// The first product that is not `current`.
pub fn next_product<'a>(products: &'a [(i64, String)], current: Option<&str>) -> Option<(i64, String)> {
    products
        .iter()
        .find(|(_, name)| Some(name.as_str()) != current)
        .map(|(code, name): &'a (i64, String)| (*code, name.clone()))
}

/// The ingest request for one product change, as one write: a PLC gateway's request in
/// a single segment, so the latency has no Nagle or delayed-ACK stall of the client's own.
pub fn ingest_request(url: &str, token: Option<&str>, tag: &str, code: i64) -> Result<(String, Vec<u8>), String> {
    let uri: awc::http::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    let authority = uri.authority().ok_or_else(|| format!("{url}: no host"))?;
    let addr = match authority.port_u16() {
        Some(_) => authority.as_str().to_owned(),
        None => format!("{}:80", authority.host()),
    };
    let body = serde_json::json!([{"tag": tag, "value": code}]).to_string();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: {authority}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        uri.path(),
        body.len()
    );
    Ok((addr, request.into_bytes()))
}

/// Sends `request` on `stream` and tells `done` whether the answer was a 2xx.
async fn post_change(mut stream: TcpStream, request: Vec<u8>, done: oneshot::Sender<bool>) {
    let mut answer = Vec::new();
    let ok = stream.write_all(&request).await.is_ok()
        && stream.read_to_end(&mut answer).await.is_ok()
        && answer.starts_with(b"HTTP/1.1 2");
    let _ = done.send(ok);
}
