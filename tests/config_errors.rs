//! `ms5 check-config` on configurations with one mistake each: exit code 2 and one line
//! on stderr naming the file, the key, the reason, and where known the machine and the
//! line of the file.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ms5");
const SETTINGS: &str = include_str!("../config/default.toml");

/// A small valid plant; the line numbers in the expectations below count in this text.
const PLANT: &str = r#"timezone = "UTC"
max_shift_length = "12h"

[[shifts]]
name = "early"
start = "06:00"
end = "14:00"

[[shifts]]
name = "late"
start = "14:00"
end = "22:00"

[[shifts]]
name = "night"
start = "22:00"
end = "06:00"
crosses_midnight = true

[[lines]]
id = "line-1"
name = "Bottling"

[[lines.machines]]
id = "l1-filler"
name = "Filler"
ideal_cycle_time = "1s"
tags = { state = { tag = "L1.Filler.State" }, good = { tag = "L1.Filler.Good" } }

[[lines.machines]]
id = "l1-capper"
name = "Capper"
ideal_cycle_time = "0.9s"
tags = { state = { tag = "L1.Capper.State" }, good = { tag = "L1.Capper.Good" } }
"#;

/// A directory with `ms5.toml` (the shipped settings) and `plant.toml`.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(settings: &str, plant: &str) -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ms5.toml"), settings).expect("write settings");
        std::fs::write(dir.path().join("plant.toml"), plant).expect("write plant");
        Setup { dir }
    }

    fn settings(&self) -> PathBuf {
        self.dir.path().join("ms5.toml")
    }

    fn plant(&self) -> String {
        self.dir.path().join("plant.toml").display().to_string()
    }

    /// `ms5 --config <dir>/ms5.toml check-config`: exit code, stdout, stderr.
    fn check(&self, env: &[(&str, &str)]) -> (i32, String, String) {
        run(&self.settings(), self.dir.path(), env)
    }
}

fn run(config: &Path, dir: &Path, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.arg("--config")
        .arg(config)
        .arg("check-config")
        .current_dir(dir)
        .env_remove("MS5_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("ms5 runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `text` with `from` (which must be there) replaced once by `to`.
fn with(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} is in the text");
    text.replacen(from, to, 1)
}

/// The line (from 1) `needle` first appears on in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text.find(needle).expect("needle is in the text");
    text[..at].matches('\n').count() + 1
}

/// Runs each plant and wants exit code 2 and exactly `message` (with `{p}` the plant
/// file) on stderr.
fn refused(cases: &[(String, &str)]) {
    for (plant, message) in cases {
        let setup = Setup::new(SETTINGS, plant);
        let (code, _, stderr) = setup.check(&[]);
        let want = format!("ms5: configuration error: {}\n", message.replace("{p}", &setup.plant()));
        assert_eq!((code, stderr.as_str()), (2, want.as_str()));
    }
}

#[test]
fn check_config_accepts_the_fixture_plant() {
    let setup = Setup::new(SETTINGS, PLANT);
    let (code, stdout, stderr) = setup.check(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("ok (1 lines, 2 machines, 4 tags)"), "{stdout}");
}

#[test]
fn shift_mistakes_are_refused_with_the_times_as_read() {
    let cases = [
        // The typo of the issue: 15:30 written 03:30, read as 17 h + 3 h 30 min.
        (
            with(
                PLANT,
                "start = \"06:00\"\nend = \"14:00\"",
                "start = \"07:00\"\nend = \"03:30\"",
            ),
            "{p}: shifts[0].end: shift \"early\" runs 07:00 → 03:30, read as 20 h 30 min crossing midnight; \
             longest allowed is 12 h (max_shift_length): check the times, or if it really ends the next day \
             set crosses_midnight = true and raise max_shift_length ({p}:7)",
        ),
        // The night shift without saying it crosses midnight: 2 h + 6 h.
        (
            with(PLANT, "crosses_midnight = true\n", ""),
            "{p}: shifts[2].end: shift \"night\" runs 22:00 → 06:00, read as 8 h crossing midnight; \
             if it really ends the next day set crosses_midnight = true ({p}:17)",
        ),
        // A lower maximum: early is 8 h.
        (
            with(PLANT, "max_shift_length = \"12h\"", "max_shift_length = \"6h\""),
            "{p}: shifts[0].end: shift \"early\" runs 06:00 → 14:00, read as 8 h; longest allowed is 6 h \
             (max_shift_length) ({p}:7)",
        ),
        // late from 13:00 overlaps early's last hour, every day; Monday is the first.
        (
            with(PLANT, "start = \"14:00\"", "start = \"13:00\""),
            "{p}: shifts[1]: shift \"early\" (shifts[0], 06:00 → 14:00) and shift \"late\" (shifts[1], \
             13:00 → 22:00) overlap on Monday from 13:00 to 14:00 ({p}:9)",
        ),
    ];
    refused(&cases);
}

#[test]
fn plant_errors_name_the_machine_the_line_and_the_closest_key() {
    let cases = [
        (
            with(PLANT, "ideal_cycle_time = \"0.9s\"", "ideal_cycle_tme = \"0.9s\""),
            "{p}: lines[0].machines[1].ideal_cycle_tme: unknown key, did you mean `ideal_cycle_time`? \
             (machine l1-capper, {p}:33)",
        ),
        (
            with(PLANT, "\"L1.Capper.Good\"", "\"L1.Filler.Good\""),
            "{p}: lines[0].machines[1].tags.good: tag \"L1.Filler.Good\" is used twice: at \
             lines[0].machines[0].tags.good (machine l1-filler, {p}:28), and here (machine l1-capper, {p}:34)",
        ),
        (
            with(PLANT, "ideal_cycle_time = \"1s\"", "ideal_cycle_time = \"0s\""),
            "{p}: lines[0].machines[0].ideal_cycle_time: must be longer than 0 (machine l1-filler, {p}:27)",
        ),
    ];
    refused(&cases);
}

#[test]
fn settings_errors_name_their_line_or_the_environment() {
    let typo = Setup::new(&with(SETTINGS, "port = 8080", "prot = 8080"), PLANT);
    let zero = Setup::new(&with(SETTINGS, "batch_max = 5000", "batch_max = 0"), PLANT);
    let fine = Setup::new(SETTINGS, PLANT);
    let file = |s: &Setup| s.settings().display().to_string();
    let cases = [
        (
            &typo,
            vec![],
            format!(
                "{0}: http.prot: unknown key, did you mean `port`? ({0}:{1})",
                file(&typo),
                line_of(SETTINGS, "port = 8080")
            ),
        ),
        (
            &zero,
            vec![],
            format!(
                "{0}: store.batch_max: must be at least 1 ({0}:{1})",
                file(&zero),
                line_of(SETTINGS, "batch_max = 5000")
            ),
        ),
        // The file says 1.0: the value at fault is the environment's.
        (
            &fine,
            vec![("MS5__SIMULATOR__SPEED", "0")],
            "environment (MS5__…): simulator.speed: must be above 0 and at most 1000".to_owned(),
        ),
    ];
    for (setup, env, message) in cases {
        let (code, _, stderr) = setup.check(&env);
        assert_eq!(
            (code, stderr.as_str()),
            (2, format!("ms5: configuration error: {message}\n").as_str())
        );
    }
}

#[test]
fn opcua_reconnect_delays_must_be_positive_and_ordered() {
    let section = "\n[opcua]\nreconnect_base = \"2s\"\nreconnect_max = \"1s\"\n";
    let settings = format!("{SETTINGS}{section}");
    let reversed = Setup::new(&settings, PLANT);
    let fine = Setup::new(SETTINGS, PLANT);
    let file = reversed.settings().display().to_string();
    let cases = [
        (
            &reversed,
            vec![],
            format!(
                "{file}: opcua.reconnect_max: must not be shorter than opcua.reconnect_base (2s) ({file}:{})",
                line_of(&settings, "reconnect_max")
            ),
        ),
        (
            &fine,
            vec![("MS5__OPCUA__RECONNECT_BASE", "0s")],
            "environment (MS5__…): opcua.reconnect_base: must be longer than 0".to_owned(),
        ),
        // the default base is 500 ms
        (
            &fine,
            vec![("MS5__OPCUA__RECONNECT_MAX", "200ms")],
            "environment (MS5__…): opcua.reconnect_max: must not be shorter than opcua.reconnect_base (500ms)"
                .to_owned(),
        ),
    ];
    for (setup, env, message) in cases {
        let (code, _, stderr) = setup.check(&env);
        assert_eq!(
            (code, stderr.as_str()),
            (2, format!("ms5: configuration error: {message}\n").as_str())
        );
    }
    // equal delays are fine: no backoff, a retry every second
    let (code, _, stderr) = fine.check(&[
        ("MS5__OPCUA__RECONNECT_BASE", "1s"),
        ("MS5__OPCUA__RECONNECT_MAX", "1s"),
    ]);
    assert_eq!(code, 0, "{stderr}");
}

/// An `[mqtt]` section for [`PLANT`], valid as written.
const MQTT: &str = r#"
[[mqtt.endpoints]]
name = "broker"
url = "mqtt://127.0.0.1:1883"

[[mqtt.endpoints.topics]]
topic = "plant/+/filler"
values = { "/state" = "{1}.Filler.State", "/good" = "L1.Filler.Good" }
timestamp = "/ts"

[mqtt.endpoints.sparkplug]
host_id = "ms5"

[[mqtt.endpoints.sparkplug.nodes]]
group = "plant"
node = "edge1"
device = "capper"
metrics = { "Counters/Good" = "L1.Capper.Good" }
"#;

#[test]
fn mqtt_topics_pointers_and_metrics_are_checked_with_key_and_line() {
    let fine = Setup::new(&format!("{SETTINGS}{MQTT}"), PLANT);
    let (code, _, stderr) = fine.check(&[]);
    assert_eq!(code, 0, "{stderr}");
    // (what to change in MQTT, key, reason, the text on the line the error names)
    let cases = [
        (
            ("plant/+/filler", "plant/#/filler"),
            "mqtt.endpoints[0].topics[0].topic",
            "`plant/#/filler`: `#` must be the last level",
            "topic = ",
        ),
        (
            ("\"/good\" = \"L1.Filler.Good\"", "\"/good\" = \"L1.Filler.Goods\""),
            "mqtt.endpoints[0].topics[0].values./good",
            "`L1.Filler.Goods` is no tag of the plant model",
            "values = ",
        ),
        (
            ("\"{1}.Filler.State\"", "\"{2}.Filler.State\""),
            "mqtt.endpoints[0].topics[0].values./state",
            "`{2}.Filler.State`: `{2}` names no wildcard of the topic (it has 1 `+`)",
            "values = ",
        ),
        (
            ("timestamp = \"/ts\"", "timestamp = \"ts\""),
            "mqtt.endpoints[0].topics[0].timestamp",
            "`ts` is not a JSON pointer (`/field`)",
            "timestamp = ",
        ),
        (
            ("\"L1.Capper.Good\" }", "\"L1.Capper.Bad\" }"),
            "mqtt.endpoints[0].sparkplug.nodes[0].metrics.Counters/Good",
            "`L1.Capper.Bad` is no tag of the plant model",
            "metrics = ",
        ),
        (
            ("mqtt://127.0.0.1:1883", "mqtts://127.0.0.1:8883"),
            "mqtt.endpoints[0].url",
            "must be an mqtt://host[:port] URL (TLS, mqtts://, is not supported)",
            "url = ",
        ),
        (
            ("device = \"capper\"", "device = \"cap/per\""),
            "mqtt.endpoints[0].sparkplug.nodes[0].device",
            "`cap/per` must be non-empty, without `/`, `+` or `#`",
            "device = ",
        ),
    ];
    for ((from, to), key, reason, on) in cases {
        let mqtt = with(MQTT, from, to);
        let settings = format!("{SETTINGS}{mqtt}");
        let setup = Setup::new(&settings, PLANT);
        let file = setup.settings().display().to_string();
        let (code, _, stderr) = setup.check(&[]);
        // the line of `on` in the section, counted on from the end of the shipped settings
        let line = SETTINGS.matches('\n').count() + line_of(&mqtt, &format!("\n{on}")) + 1;
        let want = format!("ms5: configuration error: {file}: {key}: {reason} ({file}:{line})\n");
        assert_eq!((code, stderr.as_str()), (2, want.as_str()), "{to}");
    }
    // the reconnect delays, as for OPC UA
    let (code, _, stderr) = fine.check(&[("MS5__MQTT__RECONNECT_MAX", "100ms")]);
    assert_eq!(
        (code, stderr.as_str()),
        (
            2,
            "ms5: configuration error: environment (MS5__…): mqtt.reconnect_max: must not be shorter than mqtt.reconnect_base (500ms)\n"
        )
    );
}

#[test]
fn the_outbox_byte_budget_has_a_floor() {
    let fine = Setup::new(SETTINGS, PLANT);
    let (code, _, stderr) = fine.check(&[("MS5__WEBSOCKET__OUTBOUND_BYTES", "512")]);
    assert_eq!(
        (code, stderr.as_str()),
        (
            2,
            "ms5: configuration error: environment (MS5__…): websocket.outbound_bytes: must be at least 1024\n"
        )
    );
    let (code, _, stderr) = fine.check(&[("MS5__WEBSOCKET__OUTBOUND_BYTES", "1024")]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn modbus_addresses_are_checked_with_the_key_and_the_line() {
    let endpoint = "\n[[modbus.endpoints]]\nname = \"plc\"\naddress = \"10.0.0.5:502\"\n\n[modbus.endpoints.tags]\n\"L1.Filler.State\" = \"hr:0\"\n";
    let with = |extra: &str| format!("{SETTINGS}{endpoint}{extra}");
    let bad_address = with("\"L1.Filler.Good\" = \"hr:70000:u32\"\n");
    let bad_type = with("\"L1.Filler.Good\" = { address = \"co:4\", type = \"u32\" }\n");
    let unknown_tag = with("\"L1.Filler.Speed\" = \"hr:9\"\n");
    let no_port = format!("{SETTINGS}{}", endpoint.replace("10.0.0.5:502", "10.0.0.5"));
    let cases = [
        (
            &bad_address,
            "modbus.endpoints[0].tags.L1.Filler.Good: `hr:70000:u32` is not a Modbus address: the address is above \
             65535 (write e.g. hr:100, hr:102:u32, hr:7.3, ir:0, co:3, di:7 or 40101)",
            "\"L1.Filler.Good\"",
        ),
        (
            &bad_type,
            "modbus.endpoints[0].tags.L1.Filler.Good: a coil or discrete input holds one bit: the type must be bool, \
             not u32",
            "\"L1.Filler.Good\"",
        ),
        (
            &unknown_tag,
            "modbus.endpoints[0].tags.L1.Filler.Speed: no such tag in the plant model",
            "\"L1.Filler.Speed\"",
        ),
        (
            &no_port,
            "modbus.endpoints[0].address: `10.0.0.5` is not host:port (e.g. 10.0.0.5:502)",
            "address = \"10.0.0.5\"",
        ),
    ];
    for (settings, message, line_of_key) in cases {
        let setup = Setup::new(settings, PLANT);
        let file = setup.settings().display().to_string();
        let (code, _, stderr) = setup.check(&[]);
        let line = line_of(settings, line_of_key);
        assert_eq!(
            (code, stderr.as_str()),
            (
                2,
                format!("ms5: configuration error: {file}: {message} ({file}:{line})\n").as_str()
            )
        );
    }
    // the delays, from the environment
    let fine = Setup::new(&with(""), PLANT);
    let (code, _, stderr) = fine.check(&[("MS5__MODBUS__RECONNECT_MAX", "100ms")]);
    assert_eq!(
        (code, stderr.as_str()),
        (
            2,
            "ms5: configuration error: environment (MS5__…): modbus.reconnect_max: must not be shorter than \
             modbus.reconnect_base (500ms)\n"
        )
    );
    let (code, stdout, stderr) = fine.check(&[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

#[test]
fn logix_and_pccc_addresses_are_checked_with_their_key_and_line() {
    let logix = "\n[[logix.endpoints]]\nname = \"clx\"\naddress = \"10.0.0.5\"\n[logix.endpoints.tags]\n\"Program:Main.Count\" = \"L1.Filler.Good\"\n\"Bad-Tag\" = \"L1.Filler.State\"\n";
    let pccc = "\n[[pccc.endpoints]]\nname = \"slc\"\naddress = \"10.0.0.6:44818\"\ntags = { \"N7:0\" = \"L1.Capper.State\", \"T4:0.CU\" = \"L1.Capper.Good\" }\n";
    let unknown = "\n[[pccc.endpoints]]\nname = \"slc\"\naddress = \"10.0.0.6\"\ntags = { \"N7:1\" = \"L1.Nope\" }\n";
    let (logix, pccc, unknown) = (
        format!("{SETTINGS}{logix}"),
        format!("{SETTINGS}{pccc}"),
        format!("{SETTINGS}{unknown}"),
    );
    let cases = [
        (
            &logix,
            "logix.endpoints[0].tags.Bad-Tag: `Bad-Tag` is not a tag name (letters, digits and _, not starting with a digit)",
            "\"Bad-Tag\"",
        ),
        (
            &pccc,
            "pccc.endpoints[0].tags.T4:0.CU: `T4:0.CU`: `.CU` is not a part of a T element",
            "tags = {",
        ),
        (
            &unknown,
            "pccc.endpoints[0].tags.N7:1: no tag `L1.Nope` in the plant model",
            "tags = {",
        ),
    ];
    for (settings, message, line) in cases {
        let setup = Setup::new(settings, PLANT);
        let file = setup.settings().display().to_string();
        let (code, _, stderr) = setup.check(&[]);
        let want = format!(
            "ms5: configuration error: {file}: {message} ({file}:{})\n",
            line_of(settings, line)
        );
        assert_eq!((code, stderr.as_str()), (2, want.as_str()));
    }
    // a valid endpoint passes; the reconnect delays are checked like OPC UA's
    let fine = format!(
        "{SETTINGS}\n[[logix.endpoints]]\nname = \"clx\"\naddress = \"10.0.0.5\"\nroute = \"1,2\"\ntags = {{ \"Program:Main.Count\" = \"L1.Filler.Good\", \"Counts[3]\" = \"L1.Capper.Good\", \"Status.4\" = \"L1.Filler.State\" }}\n"
    );
    let setup = Setup::new(&fine, PLANT);
    let (code, _, stderr) = setup.check(&[]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = setup.check(&[("MS5__PCCC__RECONNECT_BASE", "0s")]);
    assert_eq!(
        (code, stderr.as_str()),
        (
            2,
            "ms5: configuration error: environment (MS5__…): pccc.reconnect_base: must be longer than 0\n"
        )
    );
}

#[test]
fn the_store_url_its_production_password_and_the_retentions_are_checked() {
    let fine = Setup::new(SETTINGS, PLANT);
    let jwt = "a-secret-of-our-own-a-secret-of-our-own-0123456789";
    let production = [("MS5__PROFILE", "production"), ("MS5__AUTH__JWT_SECRET", jwt)];
    let env = |extra: (&'static str, &'static str)| {
        let mut env = production.to_vec();
        env.push(extra);
        env
    };
    let cases = [
        (
            vec![("MS5__STORE__URL", "mysql://ms5@db/ms5")],
            "store.url: must start with sqlite: or postgres:// (e.g. sqlite://data/ms5.db, postgres://ms5@db/ms5)",
        ),
        (
            vec![("MS5__STORE__TELEMETRY_RETENTION", "23h")],
            "store.telemetry_retention: must be at least 1d",
        ),
        (
            vec![("MS5__STORE__AUDIT_RETENTION", "12h")],
            "store.audit_retention: must be at least 1d",
        ),
        (
            env(("MS5__STORE__URL", "postgres://ms5:CHANGE-ME-db-password@db/ms5")),
            "store.url: carries the example password: the production profile needs one of your own (set MS5__STORE__URL)",
        ),
    ];
    refused_from_the_environment(&fine, &cases);
    // The same settings with a password of their own, and the example password outside
    // production, are accepted (check-config does not connect).
    accepted(
        &fine,
        &[
            env(("MS5__STORE__URL", "postgres://ms5:our-own-db-password@db/ms5")),
            vec![("MS5__STORE__URL", "postgres://ms5:CHANGE-ME-db-password@db/ms5")],
            vec![("MS5__STORE__TELEMETRY_RETENTION", "1d")],
        ],
    );
}

#[test]
fn cluster_settings_need_postgresql_a_sane_lease_and_a_plain_replica_name() {
    let fine = Setup::new(SETTINGS, PLANT);
    let pg = ("MS5__STORE__URL", "postgres://ms5:our-own-db-password@db/ms5");
    let on = ("MS5__CLUSTER__ENABLED", "true");
    let cases = [
        (
            vec![on],
            "cluster.enabled: replicas share one PostgreSQL: set store.url = \"postgres://…\" (SQLite is for one node)",
        ),
        (
            vec![on, pg, ("MS5__CLUSTER__LEASE_TTL", "2s")],
            "cluster.lease_ttl: must be between 3s and 5m",
        ),
        (
            vec![on, pg, ("MS5__CLUSTER__LEASE_TTL", "10m")],
            "cluster.lease_ttl: must be between 3s and 5m",
        ),
        (
            vec![on, pg, ("MS5__CLUSTER__REPLICA", "ms5 a")],
            "cluster.replica: must be 1 to 100 letters, digits, '-', '_', '.' or ':'",
        ),
    ];
    refused_from_the_environment(&fine, &cases);
    accepted(
        &fine,
        &[
            vec![on, pg],
            vec![
                on,
                pg,
                ("MS5__CLUSTER__REPLICA", "ms5-0.plant:8080"),
                ("MS5__CLUSTER__LEASE_TTL", "30s"),
            ],
            // Off, the section is not checked.
            vec![("MS5__CLUSTER__LEASE_TTL", "1s")],
        ],
    );
}

#[test]
fn redis_settings_need_replicas_a_redis_url_and_a_plain_channel_name() {
    let fine = Setup::new(SETTINGS, PLANT);
    let pg = ("MS5__STORE__URL", "postgres://ms5:our-own-db-password@db/ms5");
    let on = ("MS5__CLUSTER__ENABLED", "true");
    let url = ("MS5__REDIS__URL", "redis://redis:6379");
    let cases = [
        (
            vec![url],
            "redis.url: Redis carries live state between replicas: set cluster.enabled = true (one node needs no Redis)",
        ),
        (
            vec![on, pg, ("MS5__REDIS__URL", "http://redis:6379")],
            "redis.url: must be a redis://host:port URL",
        ),
        (
            vec![on, pg, url, ("MS5__REDIS__CHANNEL", "ms5 plant")],
            "redis.channel: must be 1 to 100 letters, digits, '-', '_' or '.'",
        ),
    ];
    refused_from_the_environment(&fine, &cases);
    accepted(
        &fine,
        &[
            vec![on, pg, url],
            vec![
                on,
                pg,
                ("MS5__REDIS__URL", "redis://:secret@10.0.0.5:6380/2"),
                ("MS5__REDIS__CHANNEL", "plant-2"),
            ],
        ],
    );
}

/// Each `(environment, message)` of `cases` is refused with exit code 2 and the message,
/// named as coming from the environment.
fn refused_from_the_environment(fine: &Setup, cases: &[(Vec<(&str, &str)>, &str)]) {
    for (env, message) in cases {
        let (code, _, stderr) = fine.check(env);
        assert_eq!(
            (code, stderr.as_str()),
            (
                2,
                format!("ms5: configuration error: environment (MS5__…): {message}\n").as_str()
            ),
            "{env:?}"
        );
    }
}

/// Each environment of `envs` is accepted.
fn accepted(fine: &Setup, envs: &[Vec<(&str, &str)>]) {
    for env in envs {
        let (code, _, stderr) = fine.check(env);
        assert_eq!(code, 0, "{env:?}: {stderr}");
    }
}
