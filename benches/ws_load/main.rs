//! WebSocket load for MS5's live path, and the same load on nginx + nchan for comparison.
//!
//! Opens N clients on loopback, subscribes them (`production_updates` by default), counts
//! every frame and its bytes for a bounded time, optionally probes tag → frame latency
//! (a product change posted to `/api/v1/ingest`, timed until `machine:{id}` shows it),
//! and reads the server's CPU time and memory from `/proc` when given its pids. Prints
//! one summary; `--json FILE` also writes it for scripts (`scripts/bench-live.sh`).
//!
//! ```sh
//! cargo bench --bench ws_load -- --url ws://127.0.0.1:8080/ws --token "$TOKEN" \
//!     --clients 1000 --seconds 30 --probe-every-ms 250 --server-pid "$(pgrep -nx ms5)"
//! ```

mod clients;
mod frames;
mod probe;
mod procfs;
mod publish;
mod summary;

use std::net::IpAddr;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use tokio::sync::Barrier;
use tokio::time::Instant;

use frames::Received;
use probe::ProbePlan;
use publish::PublishPlan;
use summary::{Latency, Published, Server, Summary};

/// Most clients one run opens.
const MAX_CLIENTS: usize = 20_000;
/// Longest window.
const MAX_SECONDS: u64 = 600;

/// What the clients connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// MS5's `/ws`: clients subscribe to `--channel`.
    Ms5,
    /// An nchan subscriber location: every client gets every published frame.
    Nchan,
}

#[derive(Debug, Parser)]
#[command(about = "WebSocket load on MS5's live path (or on nginx + nchan), loopback only")]
struct Args {
    /// WebSocket URL: MS5's /ws, or nchan's subscriber location.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    url: String,
    /// Bearer token (an access or display token; an admin's or engineer's for the probe).
    #[arg(long, env = "MS5_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// ms5 or nchan.
    #[arg(long, value_enum, default_value_t = Target::Ms5)]
    target: Target,
    /// MS5 WebSocket protocol version (2 connects to /ws?protocol=2).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    protocol: u8,
    /// Clients subscribed to --channel.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Channel the clients subscribe to (ms5).
    #[arg(long, default_value = "production_updates")]
    channel: String,
    /// OEE windows the clients ask for (ms5 protocol 2; comma-separated; empty: all).
    #[arg(long, value_delimiter = ',')]
    windows: Vec<String>,
    /// Length of the measurement window, after every client is connected.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Client threads (each a single-threaded runtime).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Clients connecting at once, per thread.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// Probe tag → frame latency this often (ms); 0: no probe.
    #[arg(long, default_value_t = 0)]
    probe_every_ms: u64,
    /// Machine whose product the probe changes.
    #[arg(long, default_value = "l1-filler")]
    probe_machine: String,
    /// Its product tag.
    #[arg(long, default_value = "L1.Filler.Product")]
    probe_tag: String,
    /// Product code and the name the machine shows for it, CODE=NAME (two or more).
    #[arg(long = "probe-product", value_parser = parse_product,
          default_values = ["1=0.5 l still", "2=1.5 l sparkling"])]
    probe_products: Vec<(i64, String)>,
    /// Ingest URL for the probe [default: http://HOST:PORT/api/v1/ingest of --url].
    #[arg(long)]
    ingest_url: Option<String>,
    /// Server process ids (comma-separated: nginx's master and workers) for CPU and RSS.
    #[arg(long, value_delimiter = ',')]
    server_pid: Vec<u32>,
    /// nchan publisher location (with --target nchan).
    #[arg(long)]
    publish_url: Option<String>,
    /// Frames per second to publish (nchan).
    #[arg(long, default_value_t = 10.0)]
    publish_rate: f64,
    /// Bytes per published frame (nchan).
    #[arg(long, default_value_t = 4096)]
    frame_bytes: usize,
    /// Also write the summary as JSON to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn parse_product(s: &str) -> Result<(i64, String), String> {
    let (code, name) = s.split_once('=').ok_or("expected CODE=NAME")?;
    let code = code.trim().parse().map_err(|e| format!("code `{code}`: {e}"))?;
    Ok((code, name.to_owned()))
}

/// What every thread needs to know about the run.
#[derive(Debug)]
pub struct Plan {
    /// ms5 or nchan.
    pub target: Target,
    /// WebSocket URL, with `protocol=2` when asked for.
    pub url: String,
    /// Bearer token.
    pub token: Option<String>,
    /// Channel the load subscribes to.
    pub channel: String,
    /// OEE windows asked for (empty: all).
    pub windows: Vec<String>,
    /// Clients connecting at once, per thread.
    pub connect_concurrency: usize,
    /// The window.
    pub seconds: Duration,
    /// The latency probe.
    pub probe: Option<ProbePlan>,
    /// The nchan publisher.
    pub publish: Option<PublishPlan>,
    /// Server pids.
    pub pids: Vec<u32>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.bench && std::env::args().len() == 2 {
        // A plain `cargo bench` runs every benchmark; this one needs a server to load.
        println!("ws_load: skipped (needs a running server: see docs/PERFORMANCE.md, or --help)");
        return ExitCode::SUCCESS;
    }
    let plan = match plan(&args) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            eprintln!("ws_load: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = raise_fd_limit(args.clients as u64 + 256) {
        eprintln!("ws_load: {e}");
    }
    let threads = args.threads.clamp(1, 16);
    let summary = run(&args, plan, threads);
    print!("{}", summary.render());
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("ws_load: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if summary.connected < summary.clients {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn plan(args: &Args) -> Result<Plan, String> {
    if args.clients > MAX_CLIENTS {
        return Err(format!("at most {MAX_CLIENTS} clients"));
    }
    if args.seconds == 0 || args.seconds > MAX_SECONDS {
        return Err(format!("--seconds is 1 to {MAX_SECONDS}"));
    }
    let mut url = loopback(&args.url)?;
    if args.target == Target::Ms5 && args.protocol == 2 {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str("protocol=2");
    }
    let probe = if args.probe_every_ms > 0 && args.target == Target::Ms5 {
        if args.probe_products.len() < 2 {
            return Err("the probe needs two products to switch between".into());
        }
        let ingest_url = match &args.ingest_url {
            Some(u) => loopback(u)?,
            None => ingest_url_of(&args.url)?,
        };
        Some(ProbePlan {
            every: Duration::from_millis(args.probe_every_ms),
            machine: args.probe_machine.clone(),
            tag: args.probe_tag.clone(),
            products: args.probe_products.clone(),
            ingest_url,
        })
    } else {
        None
    };
    let publish = match (args.target, &args.publish_url) {
        (Target::Nchan, Some(u)) => {
            if !(args.publish_rate > 0.0 && args.publish_rate <= 10_000.0) {
                return Err("--publish-rate is above 0 and at most 10000".into());
            }
            Some(PublishPlan {
                url: loopback(u)?,
                rate: args.publish_rate,
                frame_bytes: args.frame_bytes.min(16 << 20),
            })
        }
        (Target::Nchan, None) => return Err("--target nchan needs --publish-url".into()),
        _ => None,
    };
    Ok(Plan {
        target: args.target,
        url,
        token: args.token.clone(),
        channel: args.channel.clone(),
        windows: args.windows.clone(),
        connect_concurrency: args.connect_concurrency,
        seconds: Duration::from_secs(args.seconds),
        probe,
        publish,
        pids: args.server_pid.clone(),
    })
}

/// `url` if its host is on this machine (127.0.0.0/8, ::1, localhost); the load never
/// goes anywhere else.
fn loopback(url: &str) -> Result<String, String> {
    let uri: awc::http::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    let host = uri.host().ok_or_else(|| format!("{url}: no host"))?;
    let ip = host.trim_start_matches('[').trim_end_matches(']');
    let local = host == "localhost" || ip.parse::<IpAddr>().is_ok_and(|a| a.is_loopback());
    if local {
        Ok(url.to_owned())
    } else {
        Err(format!("{url}: only loopback addresses are load-tested"))
    }
}

fn ingest_url_of(ws_url: &str) -> Result<String, String> {
    let uri: awc::http::Uri = loopback(ws_url)?.parse().map_err(|e| format!("{ws_url}: {e}"))?;
    let scheme = if uri.scheme_str() == Some("wss") {
        "https"
    } else {
        "http"
    };
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or("127.0.0.1");
    Ok(format!("{scheme}://{authority}/api/v1/ingest"))
}

/// Raises the soft open-file limit to `want` (at most the hard limit).
fn raise_fd_limit(want: u64) -> Result<(), String> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(format!("getrlimit: {}", std::io::Error::last_os_error()));
        }
        if lim.rlim_cur >= want {
            return Ok(());
        }
        lim.rlim_cur = want.min(lim.rlim_max);
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
            return Err(format!("setrlimit: {}", std::io::Error::last_os_error()));
        }
    }
    if lim.rlim_cur < want {
        return Err(format!(
            "open files limited to {} (hard limit): raise it (ulimit -Hn) for this many clients",
            lim.rlim_cur
        ));
    }
    Ok(())
}

/// One thread's result.
#[derive(Default)]
struct Report {
    received: Received,
    connected: usize,
    failed: usize,
    first_error: Option<String>,
    closed_early: usize,
    lead: Option<Lead>,
}

/// What the first thread measured besides its clients.
#[derive(Default)]
struct Lead {
    window: Duration,
    published: Option<Published>,
    before: Option<procfs::Sample>,
    after: Option<procfs::Sample>,
    error: Option<String>,
}

fn run(args: &Args, plan: Arc<Plan>, threads: usize) -> Summary {
    let barrier = Arc::new(Barrier::new(threads + usize::from(plan.probe.is_some())));
    // The probe has a thread of its own: on a client thread its frame would wait behind
    // the frames of every client there, and the latency would be the load tool's.
    let probe = plan.probe.clone().map(|p| {
        let (plan, barrier) = (plan.clone(), barrier.clone());
        std::thread::spawn(move || actix_rt::System::new().block_on(probe_thread(plan, p, barrier)))
    });
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let n = args.clients / threads + usize::from(i < args.clients % threads);
            let (plan, barrier) = (plan.clone(), barrier.clone());
            std::thread::spawn(move || actix_rt::System::new().block_on(worker(i == 0, n, plan, barrier)))
        })
        .collect();
    let mut received = Received::default();
    let mut summary = Summary {
        target: match plan.target {
            Target::Ms5 => "ms5".into(),
            Target::Nchan => "nchan".into(),
        },
        protocol: args.protocol,
        channel: match plan.target {
            Target::Ms5 => plan.channel.clone(),
            Target::Nchan => plan.url.clone(),
        },
        clients: args.clients,
        ..Summary::default()
    };
    let mut lead = None;
    for h in handles {
        let r = h.join().unwrap_or_default();
        received.merge(&r.received);
        summary.connected += r.connected;
        summary.failed += r.failed;
        summary.closed_early += r.closed_early;
        if summary.first_error.is_none() {
            summary.first_error = r.first_error;
        }
        lead = lead.or(r.lead);
    }
    let lead = lead.unwrap_or_default();
    if let Some(e) = &lead.error {
        summary.first_error.get_or_insert_with(|| e.clone());
    }
    let latency = match probe.map(|h| h.join()) {
        Some(Ok(Ok(measured))) => Some(measured),
        Some(Ok(Err(e))) => {
            summary.first_error.get_or_insert(e);
            None
        }
        Some(Err(_)) => {
            summary
                .first_error
                .get_or_insert_with(|| "probe: its thread panicked".into());
            None
        }
        None => None,
    };
    summary.seconds = lead.window.as_secs_f64();
    summary.frames = received.window_frames;
    summary.by_type = received.by_type.clone();
    summary.latency = latency.map(|(l, samples)| l.with_samples(samples));
    summary.published = lead.published;
    if let (Some(before), Some(after)) = (lead.before, lead.after) {
        let cpu_s = after.cpu_ticks.saturating_sub(before.cpu_ticks) as f64 / procfs::ticks_per_second() as f64;
        summary.server = Some(Server {
            pids: plan.pids.clone(),
            cpu_s,
            deliveries_per_cpu_s: (cpu_s > 0.0).then(|| received.window_frames as f64 / cpu_s),
            rss_mib: after.rss_kib as f64 / 1024.0,
            peak_rss_mib: after.hwm_kib as f64 / 1024.0,
        });
    }
    summary.with_rates(received.window_bytes)
}

async fn worker(lead: bool, n: usize, plan: Arc<Plan>, barrier: Arc<Barrier>) -> Report {
    let client = clients::http_client();
    let tally = Rc::new(clients::Tally::default());
    let (connected, failed, first_error) = clients::open_all(&client, &plan, n, &tally).await;
    let mut report = Report {
        connected,
        failed,
        first_error,
        ..Report::default()
    };
    let mut lead_report = Lead::default();
    barrier.wait().await;
    tally.in_window.set(true);
    let start = Instant::now();
    let until = start + plan.seconds;
    if lead {
        let sample = || {
            (!plan.pids.is_empty())
                .then(|| procfs::sample(&plan.pids))
                .and_then(|r| r.map_err(|e| eprintln!("ws_load: {e}")).ok())
        };
        lead_report.before = sample();
        let publishing = async {
            match &plan.publish {
                Some(p) => Some(publish::run(&client, p, until).await),
                None => None,
            }
        };
        let (published, ()) = futures_util::join!(publishing, tokio::time::sleep_until(until));
        lead_report.after = sample();
        lead_report.window = start.elapsed();
        lead_report.published = published;
        report.lead = Some(lead_report);
    } else {
        tokio::time::sleep_until(until).await;
    }
    tally.in_window.set(false);
    report.received = tally.received.take();
    report.closed_early = tally.closed_in_window.get();
    report
}

/// The probe's thread: opens its socket, starts with the clients, and times product
/// changes for the same window.
async fn probe_thread(plan: Arc<Plan>, p: ProbePlan, barrier: Arc<Barrier>) -> Result<(Latency, Vec<f64>), String> {
    let client = clients::http_client();
    let opened = probe::open_probe(&client, &plan, &p).await;
    barrier.wait().await;
    let until = Instant::now() + plan.seconds;
    Ok(probe::run(&plan, &p, opened.map_err(|e| format!("probe: {e}"))?, until).await)
}
