//! The `ms5` binary's configuration handling: check-config, environment overrides, and
//! serve refusing a bad configuration with file, key and reason.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ms5");

fn run(args: &[&str], env: &[(&str, &str)], dir: &std::path::Path) -> (i32, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(dir).env_remove("MS5_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("ms5 runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn config_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("config")).expect("mkdir");
    std::fs::write(
        dir.path().join("config/default.toml"),
        include_str!("../config/default.toml"),
    )
    .expect("write");
    std::fs::write(
        dir.path().join("config/plant.toml"),
        include_str!("../config/plant.toml"),
    )
    .expect("write");
    dir
}

#[test]
fn check_config_accepts_the_shipped_configuration() {
    let dir = config_dir();
    let (code, text) = run(&["check-config"], &[], dir.path());
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("config/default.toml: ok (2 lines, 8 machines, 37 tags)"),
        "{text}"
    );
    // the built-in copy is used where no config/ exists
    let empty = tempfile::tempdir().expect("tempdir");
    let (code, text) = run(&["check-config"], &[], empty.path());
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("embedded default.toml: ok"), "{text}");
}

#[test]
fn errors_name_the_file_the_key_and_the_reason() {
    let dir = config_dir();
    let plant =
        include_str!("../config/plant.toml").replacen("ideal_cycle_time = \"1s\"", "ideal_cycle_time = \"0s\"", 1);
    std::fs::write(dir.path().join("config/plant.toml"), plant).expect("write");
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 3] = [
        (
            &["check-config"],
            &[],
            "config/plant.toml: lines[0].machines[1].ideal_cycle_time: must be longer than 0",
        ),
        // serve refuses the same way, before binding anything
        (
            &["serve"],
            &[],
            "config/plant.toml: lines[0].machines[1].ideal_cycle_time: must be longer than 0",
        ),
        (
            &["check-config"],
            &[("MS5__SIMULATOR__SPEED", "0")],
            "simulator.speed: must be above 0",
        ),
    ];
    for (args, env, want) in cases {
        let (code, text) = run(args, env, dir.path());
        assert_eq!(code, 2, "{args:?} {env:?}: {text}");
        assert!(text.contains(want), "{args:?} {env:?}: want {want:?} in {text}");
    }
}

#[test]
fn environment_overrides_reach_the_settings() {
    let dir = config_dir();
    let (code, text) = run(&["check-config"], &[("MS5__HTTP__PORT", "not-a-port")], dir.path());
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("http.port"), "{text}");
    let (code, text) = run(&["check-config"], &[("MS5__HTTP__PORT", "9000")], dir.path());
    assert_eq!(code, 0, "{text}");
    let (code, text) = run(&["--config", "missing.toml", "check-config"], &[], dir.path());
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("missing.toml: (file): no such file"), "{text}");
}
