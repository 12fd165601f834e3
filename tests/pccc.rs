//! SLC 500 / MicroLogix (PCCC over EtherNet/IP) end to end, against the in-repo test server
//! (`tests/common/enip_server.rs`): N7 integers, B3 bits, T4 and C5 sub-elements, an F8
//! float, a file the PLC does not have (an EXT STS error reply), reads split at the size
//! limit, and the PLC going away and coming back.

mod common;
#[path = "common/enip_server.rs"]
mod enip_server;

use std::path::Path;
use std::sync::{Arc, Mutex};

use common::*;
use enip_server::{EnipServer, State};
use ms5::clock::Clock;
use serde_json::{Value, json};

/// File type codes of the typed read.
const N: u8 = 0x89;
const B: u8 = 0x85;
const T: u8 = 0x86;
const C: u8 = 0x87;
const F: u8 = 0x8A;

fn plant_text() -> String {
    let start = TEST_PLANT.find("[[shifts]]").expect("shifts");
    let end = TEST_PLANT.find("[[lines]]").expect("lines");
    format!("{}{}{LINE_B}", &TEST_PLANT[..start], &TEST_PLANT[end..])
}

async fn app_with(dir: &Path, address: &str, now: i64) -> TestApp {
    let tags = json!({
        "N7:0": "A.Filler.State",
        "N7:150": "A.Filler.Total",     // 151 elements from N7:0: a second read
        "C5:1.ACC": "A.Filler.Reject",
        "N7:2": "A.Filler.Fault",
        "B3:0/5": "A.Packer.Run",
        "B3/17": "A.Packer.Fault",      // B3:1/1
        "T4:0.ACC": "A.Packer.Good",
        "F8:0": "A.Packer.Reject",
        "N9:0": "B.Press.State",        // no file N9: EXT STS 0x06
    });
    spawn_app(Spawn {
        plant: &plant_text(),
        dir,
        clock: Clock::manual(now),
        simulator: false,
        settings: json!({ "pccc": {
            "endpoints": [{ "name": "slc", "address": address, "poll": "100ms", "timeout": "1s", "tags": tags }],
            "reconnect_base": "100ms", "reconnect_max": "300ms",
        } }),
    })
    .await
}

fn total(m: &Value) -> i64 {
    m["windows"]["1h"]["total"].as_i64().unwrap_or(-1)
}

/// The controller's data table: filler running, 0 parts; packer running (B3:0/5), no
/// fault (B3:1/1), timer and counter at 0; the F8 file exists.
fn slc() -> State {
    let mut st = State::default();
    st.word(N, 7, 0, 1);
    st.word(N, 7, 150, 0);
    st.word(N, 7, 2, 0);
    st.word(C, 5, 5, 0); // C5:1 is words 3..5: control, PRE, ACC
    st.word(B, 3, 0, 1 << 5);
    st.word(B, 3, 1, 0);
    st.word(T, 4, 2, 0); // T4:0.ACC
    st.word(F, 8, 1, 0);
    st
}

#[actix_web::test]
async fn data_table_values_reach_oee_and_a_restarted_plc_is_picked_up_again() {
    let dir = temp();
    let state = Arc::new(Mutex::new(slc()));
    let server = EnipServer::start(0, state.clone()).await;
    let port = server.port();
    let app = app_with(dir.path(), &server.address(), chrono::Utc::now().timestamp_millis()).await;
    until_metric(&app, r#"ms5_plc_connected{kind="pccc",endpoint="slc"} 1"#).await;
    until_machine(&app, "a-filler", "N7:0 state", |m| m["state"] == json!("running")).await;
    until_machine(&app, "a-packer", "B3:0/5 running bit", |m| {
        m["state"] == json!("running")
    })
    .await;

    // polled values carry the (manual) clock's time: let 5 minutes pass, so the parts
    // below are plausible for the gap
    app.clock.advance(300_000);
    {
        let mut st = state.lock().expect("lock");
        st.word(N, 7, 150, 120); // total
        st.word(C, 5, 5, 4); // C5:1.ACC rejects
        st.word(C, 5, 4, 999); // C5:1.PRE: not mapped, must not count
        st.word(T, 4, 2, 9); // T4:0.ACC: packer good
    }
    let filler = until_machine(&app, "a-filler", "N7 total and C5 ACC", |m| {
        total(m) == 120 && m["windows"]["1h"]["reject"] == json!(4)
    })
    .await;
    assert!(
        filler["windows"]["1h"]["oee"].as_f64().is_some(),
        "OEE defined: {filler}"
    );
    until_machine(&app, "a-packer", "T4 ACC counts", |m| total(m) == 9).await;
    // B3/17 is B3:1/1: the packer's fault bit
    state.lock().expect("lock").word(B, 3, 1, 0b10);
    until_machine(&app, "a-packer", "fault from B3/17", |m| m["state"] == json!("down")).await;
    // the missing file: its tag is reported, the others flowed
    until_metric(
        &app,
        r#"ms5_plc_tag_error{kind="pccc",endpoint="slc",tag="B.Press.State"} 1"#,
    )
    .await;
    // N7:0..2 and N7:150 are two reads (151 words exceed 236 bytes); no read is longer
    let reads = state.lock().expect("lock").pccc_reads.clone();
    assert!(reads.contains(&(7, 0, 6)), "{reads:?}");
    assert!(reads.contains(&(7, 150, 2)), "{reads:?}");
    assert!(reads.iter().all(|r| r.2 <= 236), "{reads:?}");

    // the PLC goes away: its machines are unknown (comms_lost) at once
    server.stop().await;
    until_metric(&app, r#"ms5_plc_connected{kind="pccc",endpoint="slc"} 0"#).await;
    for id in ["a-filler", "a-packer"] {
        let gone = until_machine(&app, id, "unknown at once", |m| m["state"] == json!("unknown")).await;
        assert_eq!(gone["reason"], json!("comms_lost"), "{gone}");
    }
    // it comes back on the same port, its data table retained: data flows again
    app.clock.advance(300_000);
    state.lock().expect("lock").word(N, 7, 150, 135);
    let server = EnipServer::start(port, state.clone()).await;
    until_metric(&app, r#"ms5_plc_connected{kind="pccc",endpoint="slc"} 1"#).await;
    until_machine(&app, "a-filler", "resumed", |m| {
        m["state"] == json!("running") && total(m) == 135
    })
    .await;
    server.stop().await;
}
