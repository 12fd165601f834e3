//! Modbus TCP ingestion end to end: MS5 polls pymodbus's server (an independent device, a
//! Python process the test starts: `tests/modbus/server.py`) and `ms5 simulate`'s own
//! tokio-modbus server in process.
//!
//! pymodbus comes from the virtualenv `scripts/test.sh` makes (`MS5_PYTHON` names its
//! python). Without it the pymodbus tests are skipped, unless `MS5_REQUIRE_MODBUS` is set.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use common::*;
use ms5::clock::Clock;
use ms5::config::{ModbusServerSettings, parse_plant};
use ms5::domain::tag::{Quality, TagUpdate, TagValue};
use ms5::plc::modbus::server::ModbusServer;
use serde_json::{Value, json};

/// The test plant without shifts: every hour is planned time, whenever the test runs.
fn plant_text() -> String {
    let start = TEST_PLANT.find("[[shifts]]").expect("shifts");
    let end = TEST_PLANT.find("[[lines]]").expect("lines");
    format!("{}{}", &TEST_PLANT[..start], &TEST_PLANT[end..])
}

// ---- pymodbus, in its own process ------------------------------------------------------

/// The python that has pymodbus, or `None` (the test is skipped) when there is none and
/// `MS5_REQUIRE_MODBUS` is unset.
fn python() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("MS5_PYTHON").map(PathBuf::from),
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/ms5/venv/bin/python")),
    ];
    let found = candidates.into_iter().flatten().find(|p| {
        Command::new(p)
            .args(["-c", "from pymodbus.simulator import SimDevice"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("MS5_REQUIRE_MODBUS").is_none(),
            "MS5_REQUIRE_MODBUS is set but no python with pymodbus was found (set MS5_PYTHON)"
        );
        eprintln!("skipped: no python with pymodbus (set MS5_PYTHON; scripts/test.sh installs it)");
    }
    found
}

/// pymodbus's server on 127.0.0.1:`port`, set through its stdin.
struct PyDevice {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl PyDevice {
    /// Starts the device with `initial` commands applied before it listens.
    fn start(python: &Path, port: u16, initial: &[&str]) -> PyDevice {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/modbus/server.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg(port.to_string())
            .args(initial)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the pymodbus device");
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("ready line");
        assert_eq!(line.trim(), format!("ready {port}"), "the device did not start");
        PyDevice { child, stdin, stdout }
    }

    /// Sends one command (`hr 10 1 2`, `co 3 1`, `delay 1.5`) and waits for its `ok`.
    fn set(&mut self, command: &str) {
        writeln!(self.stdin, "{command}").expect("send");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("ok line");
        assert_eq!(line.trim(), "ok", "{command}");
    }

    /// Ends the process: its connections drop.
    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PyDevice {
    fn drop(&mut self) {
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

// ---- MS5 -----------------------------------------------------------------------------------

/// MS5 polling `address` every 50 ms with these tags and endpoint settings, reconnecting
/// after 100 ms doubling to 1 s.
async fn app_for(dir: &Path, name: &str, address: &str, endpoint: Value, now: i64) -> TestApp {
    let mut ep = json!({
        "name": name, "address": address, "poll_interval": "50ms", "timeout": "500ms",
    });
    if let (Some(ep), Some(extra)) = (ep.as_object_mut(), endpoint.as_object()) {
        ep.extend(extra.clone());
    }
    spawn_app(Spawn {
        plant: &plant_text(),
        dir,
        clock: Clock::manual(now),
        simulator: false,
        settings: json!({ "modbus": {
            "reconnect_base": "100ms", "reconnect_max": "1s", "endpoints": [ep],
        }}),
    })
    .await
}

/// Moves the manual clock 1 s on: each poll stamps its values with the clock, and a
/// machine takes one value per tag and instant.
fn step(app: &TestApp) {
    app.clock.advance(1_000);
}

async fn until(app: &TestApp, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    until_machine(app, "a-filler", what, check).await
}

async fn metric_value(app: &TestApp, needle: &str) -> Option<f64> {
    app.get_text("/metrics")
        .await
        .1
        .lines()
        .find_map(|l| l.strip_prefix(needle).and_then(|v| v.trim().parse().ok()))
}

/// Waits until the metric line `needle` (name and labels) has a value that `check` accepts.
async fn until_metric(app: &TestApp, needle: &str, check: impl Fn(f64) -> bool) -> f64 {
    for _ in 0..500 {
        if let Some(v) = metric_value(app, needle).await.filter(|v| check(*v)) {
            return v;
        }
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "metric never matched: {needle} (now {:?})",
        metric_value(app, needle).await
    );
}

fn connected(endpoint: &str) -> String {
    format!(r#"ms5_plc_connected{{kind="modbus",endpoint="{endpoint}"}}"#)
}

fn total(m: &Value) -> i64 {
    m["windows"]["1h"]["total"].as_i64().unwrap_or(-1)
}

/// The filler: state in a holding register, total as a u32 counter with the low word
/// first, reject as a u32 with its bytes swapped; the packer on bits and a u16 counter.
fn mixed_orders() -> Value {
    json!({"tags": {
        "A.Filler.State": "hr:10",
        "A.Filler.Total": {"address": "hr:20", "type": "u32", "word_order": "little"},
        "A.Filler.Reject": {"address": "40031", "type": "u32", "byte_order": "little"},
        "A.Filler.Fault": "ir:12",
        "A.Packer.Run": "co:3",
        "A.Packer.Fault": "di:4",
        "A.Packer.Good": "hr:40",
    }})
}

#[actix_web::test]
async fn pymodbus_word_orders_and_a_32_bit_counter_wrap_count_through_to_oee() {
    let Some(py) = python() else { return };
    let dir = temp();
    let port = free_port();
    // total 4,294,967,290 (0xFFFF_FFFA) with the low word first; reject 2 as 0x0000_0002
    // with each register's bytes swapped (0x0000, 0x0200)
    let mut device = PyDevice::start(&py, port, &["hr 10 1", "hr 20 65530 65535", "hr 30 0 512", "co 3 1"]);
    let t = now_ms();
    let app = app_for(dir.path(), "py-orders", &format!("127.0.0.1:{port}"), mixed_orders(), t).await;
    until_metric(&app, &connected("py-orders"), |v| v == 1.0).await;
    until(&app, "baseline read", |m| m["state"] == json!("running")).await;
    until_machine(&app, "a-packer", "packer running from its coil", |m| {
        m["state"] == json!("running")
    })
    .await;
    // the counter wraps: 0xFFFF_FFFA → 5 is 11 parts (6 to the wrap, 5 after); reject 2 → 3
    step(&app);
    device.set("hr 20 5 0");
    device.set("hr 30 0 768");
    let m = until(&app, "the wrap counted", |m| total(m) == 11).await;
    assert_eq!(m["windows"]["1h"]["reject"], json!(1), "{m}");
    assert_eq!(m["windows"]["1h"]["good"], json!(10), "{m}");
    assert!(m["windows"]["1h"]["oee"].as_f64().is_some(), "OEE defined: {m}");
    // the packer's u16 counter and its fault bit (a discrete input)
    step(&app);
    device.set("hr 40 7");
    until_machine(&app, "a-packer", "packer counts", |m| total(m) == 7).await;
    step(&app);
    device.set("di 4 1");
    until_machine(&app, "a-packer", "packer down from its fault input", |m| {
        m["state"] == json!("down")
    })
    .await;
    assert!(
        metric_value(&app, r#"ms5_plc_values_total{kind="modbus",endpoint="py-orders"}"#)
            .await
            .is_some_and(|v| v >= 6.0)
    );
}

#[actix_web::test]
async fn pymodbus_going_away_makes_the_machines_unknown_at_once_and_its_return_brings_data() {
    let Some(py) = python() else { return };
    let dir = temp();
    let port = free_port();
    let device = PyDevice::start(&py, port, &["hr 10 1", "hr 20 0 0", "co 3 1"]);
    let t = now_ms();
    let app = app_for(dir.path(), "py-away", &format!("127.0.0.1:{port}"), mixed_orders(), t).await;
    until(&app, "baseline read", |m| m["state"] == json!("running")).await;
    let mut device = device;
    step(&app);
    device.set("hr 20 150 0");
    let counted = until(&app, "counts flow", |m| total(m) == 150).await;
    assert_eq!(counted["windows"]["1h"]["good"], json!(150), "{counted}");

    // The device goes away. The manual clock moves 1 s, far below stale_after (30 s):
    // only the endpoint saying the connection is lost can make the machines unknown.
    device.stop();
    until_metric(&app, &connected("py-away"), |v| v == 0.0).await;
    app.clock.advance(1_000);
    app.plant.tick().await;
    for id in ["a-filler", "a-packer"] {
        let gone = until_machine(&app, id, "unknown at once", |m| m["state"] == json!("unknown")).await;
        assert_eq!(gone["reason"], json!("comms_lost"), "{id}: {gone}");
        assert_eq!(gone["windows"]["1h"]["comms_lost_s"], json!(1.0), "{id}: {gone}");
    }

    // It comes back on the same port, its counter 10 parts further after 10 s (plausible:
    // at most 10 × 1.5 + 5 = 20): MS5 reconnects by itself and the parts count.
    app.clock.advance(9_000);
    let device = PyDevice::start(&py, port, &["hr 10 1", "hr 20 160 0", "co 3 1"]);
    until_metric(&app, &connected("py-away"), |v| v == 1.0).await;
    let back = until(&app, "data flows again", |m| {
        m["state"] == json!("running") && total(m) == 160
    })
    .await;
    assert_eq!(back["reason"], Value::Null, "{back}");
    assert!(
        metric_value(&app, r#"ms5_plc_reconnects_total{kind="modbus",endpoint="py-away"}"#)
            .await
            .is_some_and(|v| v >= 1.0),
        "the retries are counted"
    );
    device.stop();
}

#[actix_web::test]
async fn pymodbus_a_timeout_replaces_the_connection_and_the_next_read_is_right() {
    let Some(py) = python() else { return };
    let dir = temp();
    let port = free_port();
    let mut device = PyDevice::start(&py, port, &["hr 10 1", "hr 20 0 0", "co 3 1"]);
    let t = now_ms();
    let app = app_for(dir.path(), "py-late", &format!("127.0.0.1:{port}"), mixed_orders(), t).await;
    until(&app, "baseline read", |m| m["state"] == json!("running")).await;
    let retries = r#"ms5_plc_reconnects_total{kind="modbus",endpoint="py-late"}"#;
    let before = metric_value(&app, retries).await.unwrap_or(0.0);
    // The next read is answered after 1.5 s, three times the timeout: the late reply
    // comes on a connection MS5 has already replaced.
    step(&app);
    device.set("delay 1.5");
    device.set("hr 20 40 0");
    until_metric(&app, retries, |v| v >= before + 1.0).await;
    let m = until(&app, "the next reads are right", |m| total(m) == 40).await;
    // one quick reconnect is no loss: the machine never turned unknown
    assert_eq!(m["state"], json!("running"), "{m}");
    assert_eq!(m["windows"]["1h"]["comms_lost_s"], json!(0.0), "{m}");
    // the values after the late reply keep coming right
    step(&app);
    device.set("hr 20 45 0");
    until(&app, "still right", |m| total(m) == 45).await;
    assert_eq!(metric_value(&app, &connected("py-late")).await, Some(1.0));
    let ratio = metric_value(&app, r#"ms5_plc_success_ratio{kind="modbus",endpoint="py-late"}"#).await;
    assert!(
        ratio.is_some_and(|r| r < 1.0),
        "the timed-out read is counted: {ratio:?}"
    );
    device.stop();
}

#[actix_web::test]
async fn pymodbus_exception_replies_fail_only_their_tags() {
    let Some(py) = python() else { return };
    let dir = temp();
    let port = free_port();
    let mut device = PyDevice::start(&py, port, &["hr 10 1", "hr 20 0 0"]);
    let t = now_ms();
    // hr 5000 is past the device's registers: exception 2 (illegal data address)
    let endpoint = json!({"tags": {
        "A.Filler.State": "hr:10",
        "A.Filler.Total": {"address": "hr:20", "type": "u32", "word_order": "little"},
        "A.Filler.Reject": "hr:5000:u32",
    }});
    let app = app_for(dir.path(), "py-refused", &format!("127.0.0.1:{port}"), endpoint, t).await;
    let failing = r#"ms5_plc_tag_error{kind="modbus",endpoint="py-refused",tag="A.Filler.Reject"}"#;
    until_metric(&app, failing, |v| v == 1.0).await;
    let errors = r#"ms5_plc_tag_errors_total{kind="modbus",endpoint="py-refused",tag="A.Filler.Reject"}"#;
    until_metric(&app, errors, |v| v >= 2.0).await;
    until(&app, "baseline read", |m| m["state"] == json!("running")).await;
    step(&app);
    device.set("hr 20 25 0");
    let m = until(&app, "the other tags flow", |m| total(m) == 25).await;
    assert_eq!(m["windows"]["1h"]["reject"], json!(0), "{m}");
    assert!(
        metric_value(
            &app,
            r#"ms5_tag_updates_rejected_total{source="modbus",reason="bad_quality"}"#
        )
        .await
        .is_some_and(|v| v >= 1.0),
        "the refused reads are counted as bad quality"
    );
    assert_eq!(
        metric_value(
            &app,
            r#"ms5_plc_tag_error{kind="modbus",endpoint="py-refused",tag="A.Filler.State"}"#
        )
        .await,
        None,
        "tags that read never fail"
    );
    let ratio = metric_value(&app, r#"ms5_plc_success_ratio{kind="modbus",endpoint="py-refused"}"#).await;
    // 2 of every 3 tags read: the ratio tends to 2/3
    assert!(ratio.is_some_and(|r| (r - 2.0 / 3.0).abs() < 0.01), "{ratio:?}");
    device.stop();
}

// ---- tokio-modbus's server, in process (`ms5 simulate`'s) ----------------------------------

async fn start_sim(port: u16) -> ModbusServer {
    let plant = parse_plant(&plant_text(), "plant.toml").expect("plant");
    ModbusServer::start(
        &plant,
        &ModbusServerSettings {
            enabled: true,
            host: "127.0.0.1".into(),
            port,
        },
    )
    .await
    .expect("server starts")
}

fn update(tag: &str, value: TagValue) -> TagUpdate {
    TagUpdate {
        tag: tag.into(),
        value,
        ts: 0,
        quality: Quality::Good,
    }
}

/// The test plant on `ms5 simulate`'s register map: the filler is machine 0 (registers
/// 0..9), the packer machine 1 (registers 10..19, coils 10 and 11). The filler's total is
/// read with the low word first, so the test writes it that way.
fn sim_tags() -> Value {
    json!({"max_gap": 10, "tags": {
        "A.Filler.State": "hr:0",
        "A.Filler.Fault": "hr:1",
        "A.Filler.Total": {"address": "hr:7", "type": "u32", "word_order": "little"},
        "A.Filler.Reject": "ir:5:u32",
        "A.Packer.Run": "co:10",
        "A.Packer.Fault": "di:11",
        "A.Packer.Good": "hr:13:u32",
    }})
}

#[actix_web::test]
async fn simulate_server_word_orders_wrap_and_a_device_that_goes_away_and_comes_back() {
    let dir = temp();
    let server = start_sim(0).await;
    let port = server.port();
    server.write(&[
        update("A.Filler.State", TagValue::Int(1)),
        update("A.Packer.Run", TagValue::Bool(true)),
    ]);
    // 0xFFFF_FFFE with the low word first
    server.set_registers(7, &[0xFFFE, 0xFFFF]);
    let t = now_ms();
    let app = app_for(dir.path(), "sim", &server.address(), sim_tags(), t).await;
    until_metric(&app, &connected("sim"), |v| v == 1.0).await;
    until(&app, "baseline read", |m| m["state"] == json!("running")).await;
    // the wrap: 0xFFFF_FFFE → 3 is 5 parts; the reject counter (input register, big
    // word order as the server writes it) 0 → 1
    step(&app);
    server.set_registers(7, &[3, 0]);
    server.write(&[update("A.Filler.Reject", TagValue::Int(1))]);
    let m = until(&app, "wrap counted", |m| total(m) == 5).await;
    assert_eq!(m["windows"]["1h"]["reject"], json!(1), "{m}");
    until_machine(&app, "a-packer", "packer running", |m| m["state"] == json!("running")).await;

    // the device goes away: unknown at once
    server.stop().await;
    until_metric(&app, &connected("sim"), |v| v == 0.0).await;
    app.clock.advance(1_000);
    app.plant.tick().await;
    let gone = until(&app, "unknown", |m| m["state"] == json!("unknown")).await;
    assert_eq!(gone["reason"], json!("comms_lost"), "{gone}");

    // back on the same port, 10 s later, 8 parts further: counted
    app.clock.advance(9_000);
    let server = start_sim(port).await;
    server.write(&[
        update("A.Filler.State", TagValue::Int(1)),
        update("A.Filler.Reject", TagValue::Int(1)),
    ]);
    server.set_registers(7, &[11, 0]);
    until_metric(&app, &connected("sim"), |v| v == 1.0).await;
    until(&app, "data flows again", |m| {
        m["state"] == json!("running") && total(m) == 13
    })
    .await;
    server.stop().await;
}

#[actix_web::test]
async fn an_unreachable_device_does_not_block_start_up() {
    let dir = temp();
    // nothing listens on port 1
    let app = app_for(
        dir.path(),
        "nowhere",
        "127.0.0.1:1",
        json!({"tags": {"A.Filler.State": "hr:0"}}),
        now_ms(),
    )
    .await;
    let (status, health) = app.get("/health").await;
    assert_eq!((status, health), (200, json!({"status": "ok"})));
    until_metric(&app, &connected("nowhere"), |v| v == 0.0).await;
    until_metric(
        &app,
        r#"ms5_plc_reconnects_total{kind="modbus",endpoint="nowhere"}"#,
        |v| v >= 1.0,
    )
    .await;
}
