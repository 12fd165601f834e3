//! External validators the deployment tests run (promtool, nginx, hadolint, …): found on
//! `PATH`, under `~/.cache/ms5/` where `scripts/test.sh` installs them, or named by an
//! environment variable. A missing tool skips its test, unless `MS5_REQUIRE_DEPLOY_TOOLS` is
//! set (as `scripts/test.sh` does), so CI never skips silently.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `name` from `$env`, then `~/.cache/ms5/<cached>`, then `PATH`.
pub fn find(name: &str, env: &str, cached: Option<&str>) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env).map(PathBuf::from) {
        return p.exists().then_some(p);
    }
    if let (Some(rel), Some(home)) = (cached, std::env::var_os("HOME")) {
        let p = PathBuf::from(home).join(".cache/ms5").join(rel);
        if p.exists() {
            return Some(p);
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The tool, or `None` after saying it is skipped; panics when tools are required.
pub fn require(tool: Option<PathBuf>, name: &str) -> Option<PathBuf> {
    if tool.is_none() {
        assert!(
            std::env::var_os("MS5_REQUIRE_DEPLOY_TOOLS").is_none(),
            "{name} missing: scripts/test.sh installs it"
        );
        eprintln!("skipped: {name} not installed (scripts/test.sh installs it)");
    }
    tool
}

/// Runs `cmd` in `dir`; returns stdout, or panics with everything it printed.
pub fn run(cmd: &mut Command, dir: &Path) -> String {
    let out = cmd
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The anchors GitHub gives the headings of a Markdown file.
pub fn anchors(md: &str) -> std::collections::HashSet<String> {
    let mut seen = std::collections::HashSet::new();
    let mut fenced = false;
    for line in md.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if fenced || !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base: String = line[hashes..]
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        let mut anchor = base.clone();
        let mut n = 0;
        while !seen.insert(anchor.clone()) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
    }
    seen
}
