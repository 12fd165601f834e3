//! The arithmetic and parsing of the WebSocket load tool (`benches/ws_load`): frame types,
//! the probe's product match, counts, percentiles, rates and `/proc` readings.

#[path = "../benches/ws_load/frames.rs"]
mod frames;
#[path = "../benches/ws_load/procfs.rs"]
mod procfs;
#[path = "../benches/ws_load/summary.rs"]
mod summary;

use frames::{Received, TypeCount, frame_type, padded_frame, product_on};
use summary::{Latency, Summary, percentile};

#[test]
fn frame_type_is_read_from_the_head_or_else_from_the_parsed_frame() {
    let cases: [(&str, &str); 7] = [
        (
            r#"{"type":"update","channel":"production_updates","seq":4,"data":{}}"#,
            "update",
        ),
        (
            r#"{"type":"patch","channel":"machine:l1-filler","seq":9,"data":{"product":"x"}}"#,
            "patch",
        ),
        (r#"{"type":"heartbeat","ts":"2026-11-23T09:43:10.000Z"}"#, "heartbeat"),
        // Another writer's key order: found by parsing.
        (
            r#"{"channel":"andon","seq":1,"data":{"type":"inner"},"type":"snapshot"}"#,
            "snapshot",
        ),
        (r#"{"channel":"andon","data":{"type":"inner"}}"#, "?"),
        ("plain text from a publisher", "?"),
        ("", "?"),
    ];
    for (text, want) in cases {
        assert_eq!(frame_type(text.as_bytes()), want, "{text}");
    }
}

#[test]
fn the_probe_matches_data_product_on_its_channel_in_either_protocol() {
    let channel = "machine:l1-filler";
    let cases: [(&str, Option<&str>); 6] = [
        // Protocol 1: every update is the whole state.
        (
            r#"{"type":"update","channel":"machine:l1-filler","seq":3,"data":{"id":"l1-filler","product":"1.5 l sparkling","state":"running"}}"#,
            Some("1.5 l sparkling"),
        ),
        (
            r#"{"type":"snapshot","channel":"machine:l1-filler","seq":1,"data":{"id":"l1-filler","product":"0.5 l still"}}"#,
            Some("0.5 l still"),
        ),
        // Protocol 2: a patch names the product only when it changed.
        (
            r#"{"type":"patch","channel":"machine:l1-filler","seq":4,"data":{"state":"down"}}"#,
            None,
        ),
        (
            r#"{"type":"patch","channel":"machine:l1-filler","seq":5,"data":{"product":"0.5 l still"}}"#,
            Some("0.5 l still"),
        ),
        (
            r#"{"type":"patch","channel":"machine:l1-filler","seq":6,"data":{"product":null}}"#,
            None,
        ),
        // The same machine inside a line snapshot is another channel.
        (
            r#"{"type":"update","channel":"production_updates","seq":7,"data":{"product":"0.5 l still"}}"#,
            None,
        ),
    ];
    for (text, want) in cases {
        assert_eq!(product_on(text.as_bytes(), channel).as_deref(), want, "{text}");
    }
}

#[test]
fn every_frame_is_counted_by_type_and_only_window_frames_in_the_rates() {
    let mut a = Received::default();
    a.record("snapshot", 1_000, false);
    a.record("update", 100, true);
    a.record("update", 300, true);
    let mut b = Received::default();
    b.record("update", 200, false);
    b.record("heartbeat", 52, true);
    a.merge(&b);
    // update: 100 + 300 + 200 = 600 bytes over 3 frames, largest 300.
    assert_eq!(
        a.by_type["update"],
        TypeCount {
            frames: 3,
            bytes: 600,
            max: 300
        }
    );
    assert_eq!(a.by_type["update"].mean(), 200.0);
    assert_eq!(a.by_type["snapshot"].frames, 1);
    assert_eq!(a.by_type["heartbeat"].max, 52);
    // In the window: the two updates of `a` and the heartbeat of `b`.
    assert_eq!((a.window_frames, a.window_bytes), (3, 452));
    assert_eq!(TypeCount::default().mean(), 0.0);
}

#[test]
fn published_frames_have_the_size_asked_for_and_count_as_updates() {
    let bare = padded_frame(7, 0).len();
    for size in [bare, bare + 1, 4_096, 17_000] {
        let frame = padded_frame(7, size);
        assert_eq!(frame.len(), size);
        assert_eq!(frame_type(frame.as_bytes()), "update");
        let parsed: serde_json::Value = serde_json::from_str(&frame).unwrap_or_default();
        assert_eq!(parsed["seq"], 7);
    }
    // Smaller than the bare frame: the bare frame.
    assert_eq!(padded_frame(7, 10).len(), bare);
}

#[test]
fn percentiles_are_by_nearest_rank() {
    let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
    let cases: [(&[f64], f64, Option<f64>); 7] = [
        (&hundred, 50.0, Some(50.0)),
        (&hundred, 99.0, Some(99.0)),
        (&hundred, 100.0, Some(100.0)),
        // 4 values: p50 is rank ceil(2.0) = 2, p99 is rank ceil(3.96) = 4.
        (&[1.0, 2.0, 3.0, 4.0], 50.0, Some(2.0)),
        (&[1.0, 2.0, 3.0, 4.0], 99.0, Some(4.0)),
        (&[5.0], 0.0, Some(5.0)),
        (&[], 50.0, None),
    ];
    for (values, p, want) in cases {
        assert_eq!(percentile(values, p), want, "p{p} of {values:?}");
    }
    let l = Latency::default().with_samples(vec![9.0, 1.0, 5.0, 3.0, 7.0]);
    // Sorted 1 3 5 7 9: p50 is rank 3, p99 rank 5.
    assert_eq!((l.p50_ms, l.p99_ms, l.max_ms), (Some(5.0), Some(9.0), Some(9.0)));
}

#[test]
fn rates_are_per_second_and_bytes_per_connected_client() {
    let s = Summary {
        connected: 4,
        seconds: 10.0,
        frames: 1_000,
        ..Summary::default()
    }
    .with_rates(80_000);
    // 1,000 frames / 10 s; 80,000 B / 4 clients / 10 s.
    assert_eq!((s.frames_per_s, s.bytes_per_client_s), (100.0, 2_000.0));
    let none = Summary::default().with_rates(0);
    assert_eq!((none.frames_per_s, none.bytes_per_client_s), (0.0, 0.0));
    assert!(
        s.render()
            .contains("1000 frames (100.0/s), 2000 bytes per client per second")
    );
}

#[test]
fn cpu_ticks_are_utime_plus_stime_counted_from_the_last_parenthesis() {
    let cases: [(&str, Option<u64>); 4] = [
        (
            "4242 (ms5) S 1 4242 4242 0 -1 4194560 1200 0 3 0 250 75 0 0 20 0 10 0 99 0 0",
            Some(325),
        ),
        // A command name with spaces and parentheses of its own.
        (
            "77 (a (b) c) R 1 77 77 0 -1 0 0 0 0 0 1000 24 0 0 20 0 1 0 5 0 0",
            Some(1_024),
        ),
        ("77 (short) R 1 2 3", None),
        ("no parenthesis at all", None),
    ];
    for (stat, want) in cases {
        assert_eq!(procfs::cpu_ticks(stat), want, "{stat}");
    }
}

#[test]
fn status_lines_give_kib_by_exact_key() {
    let status = "Name:\tms5\nVmHWM:\t   90112 kB\nVmRSS:\t   70144 kB\nVmRSSX:\t 1 kB\n";
    assert_eq!(procfs::status_kib(status, "VmRSS"), Some(70_144));
    assert_eq!(procfs::status_kib(status, "VmHWM"), Some(90_112));
    assert_eq!(procfs::status_kib(status, "VmSwap"), None);
}

#[test]
fn this_process_can_be_read_from_proc() {
    let me = procfs::sample(&[std::process::id()]).unwrap_or_else(|e| panic!("{e}"));
    assert!(me.rss_kib > 0);
    assert!(me.hwm_kib >= me.rss_kib);
    assert!(procfs::sample(&[u32::MAX]).is_err(), "no such process");
    assert!(procfs::ticks_per_second() > 0);
}
