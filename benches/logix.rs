//! Tag updates per second from EtherNet/IP PLCs into the pipeline: 300 tags polled from
//! the in-repo EtherNet/IP server (`tests/common/enip_server.rs`), every value changed
//! each round, through the Logix source (large 4,000-byte connection, and the 500-byte
//! fallback) and the PCCC source (N7 words). A round ends when the source has delivered
//! all 300 changes. Prints one line per case; `cargo bench --bench logix`.

#[path = "../tests/common/enip_server.rs"]
mod enip_server;
mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use enip_server::{EnipServer, State};
use ms5::clock::Clock;
use ms5::config::{LogixEndpoint, LogixSettings, PcccEndpoint, PcccSettings};
use ms5::plc::logix::LogixSource;
use ms5::plc::pccc::PcccSource;
use ms5::plc::{TagSink, TagSource};

const TAGS: usize = 300;
const ROUNDS: usize = 50;

fn delivered(metrics: &metrics_exporter_prometheus::PrometheusHandle, kind: &str) -> u64 {
    let prefix = format!("ms5_plc_values_total{{kind=\"{kind}\",endpoint=\"bench\"}}");
    metrics
        .render()
        .lines()
        .find(|l| l.starts_with(&prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Runs `ROUNDS` rounds of `set(state, round)` and returns tag updates per second.
async fn measure(
    metrics: &metrics_exporter_prometheus::PrometheusHandle,
    kind: &str,
    state: &Arc<Mutex<State>>,
    set: impl Fn(&mut State, usize),
) -> f64 {
    // wait for the first poll (every value delivered once)
    let deadline = Instant::now() + Duration::from_secs(30);
    let start = delivered(metrics, kind);
    while delivered(metrics, kind) < start + TAGS as u64 {
        assert!(Instant::now() < deadline, "{kind}: no data within 30 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let base = delivered(metrics, kind);
    let started = Instant::now();
    for round in 1..=ROUNDS {
        set(&mut state.lock().unwrap_or_else(|e| e.into_inner()), round);
        let want = base + (round * TAGS) as u64;
        while delivered(metrics, kind) < want {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    (ROUNDS * TAGS) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let plant = support::shipped_plant();
    let counters: Vec<String> = plant.tags.keys().cloned().collect();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let system = actix_rt::System::new();
    system.block_on(async {
        let handle = support::start_plant(&plant, dir.path()).await;
        let metrics = ms5::metrics::install();
        for (large, kind_label) in [(true, "4000-byte connection"), (false, "500-byte connection")] {
            let state = Arc::new(Mutex::new(State {
                large,
                ..State::default()
            }));
            let mut tags = BTreeMap::new();
            for i in 0..TAGS {
                state
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .dint(&format!("Program:Main.Count{i}"), 0);
                tags.insert(format!("Program:Main.Count{i}"), counters[i % counters.len()].clone());
            }
            let server = EnipServer::start(0, state.clone()).await;
            let ep = LogixEndpoint {
                name: "bench".into(),
                address: server.address(),
                route: "1,0".into(),
                large_connection: true,
                poll: Duration::from_millis(1),
                timeout: Duration::from_secs(2),
                tags,
            };
            let source = LogixSource::new(
                vec![ep],
                LogixSettings::default().reconnect(),
                plant.clone(),
                Clock::System,
            );
            Box::new(source).start(TagSink::new(handle.clone(), "logix"));
            let rate = measure(&metrics, "logix", &state, |st, round| {
                for i in 0..TAGS {
                    st.dint(&format!("Program:Main.Count{i}"), round as i32);
                }
            })
            .await;
            let packets = state.lock().unwrap_or_else(|e| e.into_inner()).packets.len();
            println!("logix {kind_label}: {rate:.0} tag updates/s ({TAGS} tags, {packets} packets served)");
            // the endpoint keeps retrying the stopped server, delivering nothing more
            server.stop().await;
        }
        let state = Arc::new(Mutex::new(State::default()));
        let mut tags = BTreeMap::new();
        for i in 0..TAGS {
            state.lock().unwrap_or_else(|e| e.into_inner()).word(0x89, 7, i, 0);
            tags.insert(format!("N7:{i}"), counters[i % counters.len()].clone());
        }
        let server = EnipServer::start(0, state.clone()).await;
        let ep = PcccEndpoint {
            name: "bench".into(),
            address: server.address(),
            poll: Duration::from_millis(1),
            timeout: Duration::from_secs(2),
            tags,
        };
        let source = PcccSource::new(
            vec![ep],
            PcccSettings::default().reconnect(),
            plant.clone(),
            Clock::System,
        );
        Box::new(source).start(TagSink::new(handle.clone(), "pccc"));
        let rate = measure(&metrics, "pccc", &state, |st, round| {
            for i in 0..TAGS {
                st.word(0x89, 7, i, round as u16);
            }
        })
        .await;
        let reads = state.lock().unwrap_or_else(|e| e.into_inner()).pccc_reads.len();
        println!("pccc N7 words: {rate:.0} tag updates/s ({TAGS} tags, {reads} typed reads served)");
        server.stop().await;
    });
}
