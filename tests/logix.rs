//! Logix (CIP symbolic tags over EtherNet/IP) end to end: against cpppo's EtherNet/IP
//! server (an independent implementation, started as a process, its tags written by
//! cpppo's own client during the test), and against the in-repo server for what cpppo
//! does not do (refusing the large connection, program-scoped tags, Logix STRINGs).

mod common;
#[path = "common/enip_server.rs"]
mod enip_server;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use enip_server::{EnipServer, State};
use ms5::clock::Clock;
use serde_json::{Value, json};

/// The test plant without shifts: every hour is planned time, whenever the test runs.
fn plant_text() -> String {
    let start = TEST_PLANT.find("[[shifts]]").expect("shifts");
    let end = TEST_PLANT.find("[[lines]]").expect("lines");
    format!("{}{}{LINE_B}", &TEST_PLANT[..start], &TEST_PLANT[end..])
}

async fn app_with(dir: &Path, endpoint: Value, now: i64) -> TestApp {
    let mut ep = json!({ "name": "clx", "poll": "100ms", "timeout": "1s" });
    if let (Some(ep), Some(extra)) = (ep.as_object_mut(), endpoint.as_object()) {
        ep.extend(extra.clone());
    }
    spawn_app(Spawn {
        plant: &plant_text(),
        dir,
        clock: Clock::manual(now),
        simulator: false,
        settings: json!({ "logix": { "endpoints": [ep], "reconnect_base": "100ms", "reconnect_max": "300ms" } }),
    })
    .await
}

/// Values the endpoint has delivered.
async fn values(app: &TestApp) -> u64 {
    // each test has its own endpoint name: the tests of a file share one metrics registry
    let line = metric_line(app, r#"ms5_plc_values_total{kind="logix",endpoint="cpppo"}"#).await;
    line.and_then(|l| l.rsplit(' ').next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Waits until the endpoint has delivered `n` values: the first poll is in before the test
/// changes anything, so no change shares the first poll's time.
async fn until_values(app: &TestApp, n: u64) {
    for _ in 0..1000 {
        if values(app).await >= n {
            return;
        }
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never {n} values delivered");
}

fn total(m: &Value) -> i64 {
    m["windows"]["1h"]["total"].as_i64().unwrap_or(-1)
}

// ---- cpppo ----

/// The Python with cpppo: `MS5_CPPPO_PYTHON`, else the test virtualenv's.
fn cpppo_python() -> Option<PathBuf> {
    let python = std::env::var_os("MS5_CPPPO_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/ms5/venv/bin/python"));
    let ok = Command::new(&python)
        .args(["-c", "import cpppo"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(python)
}

/// cpppo's tags: state and total DINTs, an array whose element 1 is the reject count, the
/// packer's INT counter and SINT running and fault bits.
const CPPPO_TAGS: [&str; 6] = [
    "Filler_State=DINT",
    "Filler_Total=DINT",
    "Counts=DINT[4]",
    "Packer_Good=INT",
    "Packer_Run=SINT",
    "Packer_Fault=SINT",
];

struct Cpppo {
    child: Child,
    python: PathBuf,
    port: u16,
}

impl Cpppo {
    async fn start(python: &Path, port: u16) -> Cpppo {
        let child = Command::new(python)
            .args(["-m", "cpppo.server.enip", "--no-print", "-a"])
            .arg(format!("127.0.0.1:{port}"))
            .args(CPPPO_TAGS)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cpppo starts");
        for _ in 0..500 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                break;
            }
            actix_rt::time::sleep(Duration::from_millis(20)).await;
        }
        Cpppo {
            child,
            python: python.to_owned(),
            port,
        }
    }

    /// Writes tags with cpppo's own client (`Tag=(DINT)5`).
    async fn write(&self, assignments: &[&str]) {
        let (python, port) = (self.python.clone(), self.port);
        let args: Vec<String> = assignments.iter().map(|s| (*s).to_owned()).collect();
        let out = tokio::task::spawn_blocking(move || {
            Command::new(python)
                .args(["-m", "cpppo.server.enip.client", "-a"])
                .arg(format!("127.0.0.1:{port}"))
                .args(&args)
                .output()
        })
        .await
        .expect("join")
        .expect("cpppo client runs");
        assert!(
            out.status.success(),
            "cpppo write: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[actix_web::test]
async fn counts_from_cpppo_reach_oee_and_a_restarted_plc_is_picked_up_again() {
    let Some(python) = cpppo_python() else {
        assert!(
            std::env::var_os("MS5_REQUIRE_CPPPO").is_none(),
            "cpppo is required (MS5_REQUIRE_CPPPO) but not installed"
        );
        eprintln!("skipped: cpppo not installed (scripts/test.sh installs it)");
        return;
    };
    let dir = temp();
    let port = free_port();
    let plc = Cpppo::start(&python, port).await;
    let t = now_ms();
    let tags = json!({
        "Filler_State": "A.Filler.State",
        "Filler_Total": "A.Filler.Total",
        "Counts[1]": "A.Filler.Reject",
        "Packer_Good": "A.Packer.Good",
        "Packer_Run": "A.Packer.Run",
        "Packer_Fault": "A.Packer.Fault",
    });
    let app = app_with(
        dir.path(),
        json!({ "name": "cpppo", "address": format!("127.0.0.1:{port}"), "tags": tags }),
        t,
    )
    .await;
    until_metric(&app, r#"ms5_plc_connected{kind="logix",endpoint="cpppo"} 1"#).await;
    // cpppo answers the Large Forward Open: the 4,000-byte connection is in force
    until_metric(&app, r#"ms5_plc_connection_bytes{kind="logix",endpoint="cpppo"} 4000"#).await;

    // the first reading (all 0) is the counters' baseline; polled values carry the manual
    // clock's time, so it moves before each change (a second value at the same time would
    // be a duplicate)
    until_values(&app, 6).await;
    app.clock.advance(1_000);
    plc.write(&["Filler_State=(DINT)1", "Packer_Run=(SINT)1"]).await;
    until_machine(&app, "a-filler", "running", |m| m["state"] == json!("running")).await;
    until_values(&app, 8).await;
    until_machine(&app, "a-packer", "packer running", |m| m["state"] == json!("running")).await;
    // let minutes pass before each count, so the parts are plausible for the gap
    app.clock.advance(300_000);
    plc.write(&["Filler_Total=(DINT)100"]).await;
    let first = until_machine(&app, "a-filler", "counts flow", |m| total(m) == 100).await;
    app.clock.advance(300_000);
    plc.write(&["Filler_Total=(DINT)150", "Counts[1]=(DINT)2", "Packer_Good=(INT)7"])
        .await;
    let second = until_machine(&app, "a-filler", "counter moves", |m| {
        total(m) == 150 && m["windows"]["1h"]["reject"] == json!(2)
    })
    .await;
    assert!(
        second["windows"]["1h"]["oee"].as_f64().is_some(),
        "OEE defined: {second}"
    );
    assert_ne!(
        first["windows"]["1h"]["oee"], second["windows"]["1h"]["oee"],
        "OEE moves with the counters"
    );
    until_machine(&app, "a-packer", "packer counts", |m| total(m) == 7).await;
    assert!(
        metric_line(&app, r#"ms5_plc_values_total{kind="logix",endpoint="cpppo"}"#)
            .await
            .is_some()
    );

    // the PLC goes away: both machines turn unknown (comms_lost) at once, without the
    // manual clock moving towards stale_after
    let before = values(&app).await;
    plc.stop();
    until_metric(&app, r#"ms5_plc_connected{kind="logix",endpoint="cpppo"} 0"#).await;
    for id in ["a-filler", "a-packer"] {
        let gone = until_machine(&app, id, "unknown at once", |m| m["state"] == json!("unknown")).await;
        assert_eq!(gone["reason"], json!("comms_lost"), "{gone}");
    }

    // it comes back on the same port with its tags at 0 (a cold start): data flows again
    // without restarting MS5; the drop to 0 is a reset, so 20 more parts make 170
    let plc = Cpppo::start(&python, port).await;
    until_metric(&app, r#"ms5_plc_connected{kind="logix",endpoint="cpppo"} 1"#).await;
    // a new connection delivers every value again: wait for them before changing any
    until_values(&app, before + 6).await;
    app.clock.advance(1_000);
    plc.write(&["Filler_State=(DINT)1"]).await;
    until_machine(&app, "a-filler", "running again", |m| m["state"] == json!("running")).await;
    app.clock.advance(300_000);
    plc.write(&["Filler_Total=(DINT)20"]).await;
    until_machine(&app, "a-filler", "counts after restart", |m| total(m) == 170).await;
    plc.stop();
}

// ---- the in-repo server ----

/// Every supported type, a program-scoped tag, an array element, a bit of a DINT and a
/// tag the controller does not have.
fn typed_tags() -> Value {
    json!({
        "Program:Main.FillerTotal": "A.Filler.Total",
        "Program:Main.FillerState": "A.Filler.State",
        "Rejects[2]": "A.Filler.Reject",
        "Fault_Text": "A.Filler.Fault",
        "Packer_Good": "A.Packer.Good",
        "Packer_Run": "A.Packer.Run",
        "Status.3": "A.Packer.Fault",
        "Packer_Scrap": "A.Packer.Reject",
        "No_Such_Tag": "B.Press.Reject",
    })
}

fn typed_state(large: bool, total: i32) -> State {
    let mut st = State {
        large,
        ..State::default()
    };
    st.dint("Program:Main.FillerTotal", total);
    st.string("Program:Main.FillerState", "1");
    st.dint("Rejects[2]", 3);
    st.string("Fault_Text", "0");
    st.tag("Packer_Good", 0xC3, &12i16.to_le_bytes()); // INT
    st.tag("Packer_Run", 0xC1, &[1]); // BOOL
    st.dint("Status", 0b0100); // bit 3 clear
    st.tag("Packer_Scrap", 0xCA, &0f32.to_le_bytes()); // REAL
    for i in 0..6 {
        // more strings, so replies fill 500 bytes quickly
        st.string(&format!("Spare{i}"), "0");
    }
    st
}

#[actix_web::test]
async fn a_refused_large_connection_falls_back_to_500_bytes_and_every_type_flows() {
    let dir = temp();
    let state = Arc::new(Mutex::new(typed_state(false, 0)));
    let server = EnipServer::start(0, state.clone()).await;
    let mut tags = typed_tags();
    for i in 0..6 {
        tags[format!("Spare{i}")] = json!("B.Press.Total");
    }
    let app = app_with(
        dir.path(),
        json!({ "name": "clx-small", "address": server.address(), "tags": tags }),
        now_ms(),
    )
    .await;
    until_metric(
        &app,
        r#"ms5_plc_connection_bytes{kind="logix",endpoint="clx-small"} 500"#,
    )
    .await;
    // asked for 4,000 first, refused (service not supported), then 500
    assert_eq!(state.lock().expect("lock").opens, [(true, 4000), (false, 500)]);
    until_machine(&app, "a-filler", "running from a STRING", |m| {
        m["state"] == json!("running")
    })
    .await;
    until_machine(&app, "a-packer", "running from a BOOL", |m| {
        m["state"] == json!("running")
    })
    .await;
    // counters from a program-scoped DINT, an array element, an INT (minutes later, so
    // the parts are plausible)
    app.clock.advance(300_000);
    state.lock().expect("lock").dint("Program:Main.FillerTotal", 40);
    state.lock().expect("lock").dint("Rejects[2]", 4);
    state
        .lock()
        .expect("lock")
        .tag("Packer_Good", 0xC3, &15i16.to_le_bytes());
    let filler = until_machine(&app, "a-filler", "program-scoped total", |m| total(m) == 40).await;
    assert_eq!(filler["windows"]["1h"]["reject"], json!(1), "{filler}");
    until_machine(&app, "a-packer", "INT counter", |m| total(m) == 3).await;
    // bit 3 of Status set: the packer's fault bit
    state.lock().expect("lock").dint("Status", 0b1100);
    until_machine(&app, "a-packer", "fault from a bit of a DINT", |m| {
        m["state"] == json!("down")
    })
    .await;
    // the missing tag is reported, the others flow
    until_metric(
        &app,
        r#"ms5_plc_tag_error{kind="logix",endpoint="clx-small",tag="B.Press.Reject"} 1"#,
    )
    .await;
    // 8 strings of 94 bytes do not fit one 500-byte reply: each poll takes several packets,
    // none carrying more than the connection holds
    let packets = state.lock().expect("lock").packets.clone();
    let last: Vec<usize> = packets.iter().rev().take(3).copied().collect();
    assert!(
        last.iter().all(|&n| n < 15),
        "15 reads never fit 500 bytes: {packets:?}"
    );
    server.stop().await;
}

#[actix_web::test]
async fn the_large_connection_reads_every_tag_in_one_packet() {
    let dir = temp();
    let state = Arc::new(Mutex::new(typed_state(true, 5)));
    let server = EnipServer::start(0, state.clone()).await;
    let mut tags = typed_tags();
    for i in 0..6 {
        tags[format!("Spare{i}")] = json!("B.Press.Total");
    }
    let app = app_with(
        dir.path(),
        json!({ "name": "clx-large", "address": server.address(), "tags": tags }),
        now_ms(),
    )
    .await;
    until_metric(
        &app,
        r#"ms5_plc_connection_bytes{kind="logix",endpoint="clx-large"} 4000"#,
    )
    .await;
    until_machine(&app, "a-filler", "running", |m| m["state"] == json!("running")).await;
    assert_eq!(state.lock().expect("lock").opens, [(true, 4000)]);
    // 15 reads (9 strings of 94 bytes) in one Multiple Service Packet per poll
    let packets = state.lock().expect("lock").packets.clone();
    assert!(!packets.is_empty() && packets.iter().all(|&n| n == 15), "{packets:?}");
    server.stop().await;
}
