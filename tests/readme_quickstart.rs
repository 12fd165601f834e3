//! The README is the front door, so it must not drift: the `sh` blocks of its Quick start
//! run, as written, against a fresh scratch folder, and every relative link in `README.md`
//! and `docs/*.md` reaches a file (and a heading, when it names one).
//!
//! The Quick start's server block starts with `# terminal 1`; it runs in the background with
//! `cargo run --release` replaced by this build's `ms5`, on a free port. Every other `sh`
//! block of the section is terminal 2: one `bash -euo pipefail` script, with the same
//! replacements, run in the scratch folder with no terminal on stdin.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ms5");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// Marks the Quick start block that starts the server.
const TERMINAL_1: &str = "# terminal 1";

fn read(rel: &str) -> String {
    let path = Path::new(ROOT).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A fenced code block: its info string (`sh`, `json`, …) and its text.
struct Block {
    lang: String,
    text: String,
}

/// The fenced blocks of `md`, in order.
fn fenced_blocks(md: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for line in md.lines() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(info)) => {
                open = Some(Block {
                    lang: info.trim().to_owned(),
                    text: String::new(),
                })
            }
            (Some(_), Some(_)) => blocks.extend(open.take()),
            (Some(block), None) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "a fenced block is never closed");
    blocks
}

/// The lines of `md` outside fenced blocks.
fn prose_lines(md: &str) -> Vec<&str> {
    let mut inside = false;
    md.lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                inside = !inside;
                return false;
            }
            !inside
        })
        .collect()
}

/// The text of the level-2 section `## {title}`, up to the next level-2 (or level-1) heading.
fn section<'a>(md: &'a str, title: &str) -> &'a str {
    let heading = format!("## {title}\n");
    let start = md
        .find(&heading)
        .unwrap_or_else(|| panic!("the README has no `## {title}` section"))
        + heading.len();
    let rest = &md[start..];
    let mut offset = 0;
    let mut inside = false;
    for line in rest.split_inclusive('\n') {
        if line.trim_start().starts_with("```") {
            inside = !inside;
        } else if !inside && (line.starts_with("## ") || line.starts_with("# ")) {
            return &rest[..offset];
        }
        offset += line.len();
    }
    rest
}

/// Quotes `s` for bash.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A README command as the test runs it: this build's binary, on this test's port.
fn localize(commands: &str, port: u16) -> String {
    let bin = shell_quote(BIN);
    commands
        .replace("cargo run --release --", &bin)
        .replace("cargo run --release", &bin)
        .replace("localhost:8080", &format!("localhost:{port}"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Fails, saying why, when a tool the Quick start uses is missing.
fn require(tool: &str) {
    let found = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "`{tool}` is needed to run the README's Quick start and was not found; \
         scripts/test.sh installs it (apt-get install {tool})"
    );
}

/// The environment of both terminals: the built-in config on this test's port, nothing
/// inherited that would point MS5 elsewhere.
fn environment(cmd: &mut Command, port: u16) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("MS5__") {
            cmd.env_remove(&key);
        }
    }
    cmd.env_remove("MS5_CONFIG")
        .env("MS5__HTTP__PORT", port.to_string())
        .env("MS5__HTTP__HOST", "127.0.0.1");
}

/// Kills the server when the test ends, also when it fails.
struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.0 GET: (status, body).
fn get(port: u16, path: &str, token: Option<&str>) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{auth}\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.split(' ').nth(1)?.parse().ok()?;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

/// Waits for a child with a deadline; kills it when the deadline passes.
fn wait(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_quick_start_runs_as_written_in_a_fresh_folder() {
    for tool in ["bash", "curl", "jq"] {
        require(tool);
    }
    let readme = read("README.md");
    let blocks: Vec<Block> = fenced_blocks(section(&readme, "Quick start"))
        .into_iter()
        .filter(|b| b.lang == "sh")
        .collect();
    let (servers, terminal_2): (Vec<&Block>, Vec<&Block>) = blocks
        .iter()
        .partition(|b| b.text.lines().next().map(str::trim) == Some(TERMINAL_1));
    assert_eq!(servers.len(), 1, "one Quick start block starts with `{TERMINAL_1}`");
    assert!(!terminal_2.is_empty(), "the Quick start has commands for terminal 2");
    let server_lines: Vec<&str> = servers[0]
        .text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(server_lines.len(), 1, "terminal 1 runs one command: {server_lines:?}");

    let dir = tempfile::tempdir().expect("scratch folder");
    let work = dir.path().join("clone");
    std::fs::create_dir(&work).expect("mkdir");
    let port = free_port();
    let server_command = localize(server_lines[0], port);
    assert!(
        server_command.starts_with(&shell_quote(BIN)),
        "terminal 1 starts ms5: {server_command}"
    );
    let log = dir.path().join("server.log");
    let out = std::fs::File::create(&log).expect("log file");
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(format!("exec {server_command}"))
        .current_dir(&work)
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("log file"))
        .stderr(out);
    environment(&mut cmd, port);
    let mut server = Server {
        child: cmd.spawn().expect("terminal 1 starts"),
        log,
    };

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            panic!("the server exited ({status}) before it was ready:\n{}", server.log());
        }
        if get(port, "/ready", None).is_some_and(|(status, _)| status == 200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server was not ready in 60 s:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let body: String = terminal_2
        .iter()
        .map(|b| b.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let body = localize(&body, port);
    assert!(!body.contains("cargo "), "every cargo command was replaced:\n{body}");
    assert!(!body.contains(":8080"), "every URL points at the test's port:\n{body}");
    // What the test checks afterwards: the README keeps the token and the ticket's id.
    let script = format!(
        "trap 'echo \"quick start: this command failed: $BASH_COMMAND\" >&2' ERR\n{body}\n\
         printf '\\nquick-start-token=%s\\nquick-start-ticket=%s\\n' \"$TOKEN\" \"$TICKET\"\n"
    );
    let (stdout_path, stderr_path) = (dir.path().join("terminal-2.out"), dir.path().join("terminal-2.err"));
    let mut cmd = Command::new("bash");
    cmd.args(["-Eeuo", "pipefail", "-c", &script])
        .current_dir(&work)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).expect("out file"))
        .stderr(std::fs::File::create(&stderr_path).expect("err file"));
    environment(&mut cmd, port);
    let mut terminal = cmd.spawn().expect("terminal 2 starts");
    let status = wait(&mut terminal, Duration::from_secs(120));
    let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let report = format!(
        "script:\n{script}\n--- stdout:\n{stdout}\n--- stderr:\n{stderr}\n--- server log:\n{}",
        server.log()
    );
    match status {
        Some(s) if s.success() => {}
        Some(s) => panic!("the Quick start's terminal 2 failed ({s}):\n{report}"),
        None => panic!("the Quick start's terminal 2 did not finish in 120 s:\n{report}"),
    }

    let value = |key: &str| {
        stdout
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix(key))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no {key} in the output:\n{report}"))
    };
    let (token, ticket) = (value("quick-start-token="), value("quick-start-ticket="));
    assert!(
        token.starts_with("eyJ"),
        "TOKEN holds an access token: {token:?}\n{report}"
    );
    assert!(
        ticket.parse::<i64>().is_ok(),
        "TICKET holds a ticket id: {ticket:?}\n{report}"
    );
    assert!(stdout.contains("\"line-1\""), "the lines were read:\n{report}");

    let (status, body) = get(port, &format!("/api/v1/andon/tickets/{ticket}"), Some(&token))
        .unwrap_or_else(|| panic!("no answer for ticket {ticket}:\n{report}"));
    assert_eq!(status, 200, "{body}");
    let detail: Value = serde_json::from_str(&body).expect("JSON");
    let t = &detail["ticket"];
    assert_eq!(t["line"], "line-1", "{body}");
    assert_eq!(t["raised_by"], "ada", "{body}");
    assert_eq!(t["state"], "acknowledged", "the ticket is acknowledged: {body}");
    assert_eq!(t["acknowledged_by"], "ada", "{body}");
    assert!(t["acknowledged_at"].is_string(), "{body}");
    let kinds: Vec<&str> = detail["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        kinds.starts_with(&["raised"]) && kinds.contains(&"acknowledged"),
        "{body}"
    );
    drop(server);
}

/// GitHub's anchor for a heading: lower case, spaces to `-`, punctuation dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown file's headings (repeats numbered as GitHub does).
fn anchors(md: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    for line in prose_lines(md) {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base = slug(&line[hashes..]);
        let mut anchor = base.clone();
        let mut n = 0;
        while !seen.insert(anchor.clone()) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
    }
    seen
}

/// The targets of the inline links `[text](target)` in a Markdown file's prose (not in
/// code blocks or code spans).
fn links(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in prose_lines(md) {
        // drop code spans: `[x](y)` inside backticks is not a link
        let mut text = String::new();
        for (i, part) in line.split('`').enumerate() {
            if i % 2 == 0 {
                text.push_str(part);
            }
        }
        let mut rest = text.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].trim().to_owned());
            rest = &after[end..];
        }
    }
    out
}

/// Every Markdown file whose links are checked: the README and everything in docs/.
fn markdown_files() -> Vec<PathBuf> {
    let root = Path::new(ROOT);
    let mut files = vec![root.join("README.md"), root.join("deploy/README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

#[test]
fn the_readme_contents_list_links_every_page_in_docs() {
    let readme = read("README.md");
    let listed: HashSet<String> = links(section(&readme, "Contents")).into_iter().collect();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(Path::new(ROOT).join("docs")).expect("docs/") {
        let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
        // Pages only: docs/screens/ holds the README's screenshots.
        if name.ends_with(".md") && !listed.contains(&format!("docs/{name}")) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "the README's Contents does not link docs/{missing:?}"
    );
}

#[test]
fn every_relative_link_in_the_readme_and_docs_reaches_a_file_and_heading() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in markdown_files() {
        let md = std::fs::read_to_string(&file).expect("read");
        let dir = file.parent().expect("a folder");
        for target in links(&md) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            let linked = if path.is_empty() { file.clone() } else { dir.join(path) };
            let name = file.strip_prefix(ROOT).unwrap_or(&file).display().to_string();
            if !linked.exists() {
                broken.push(format!("{name}: ({target}): no such file"));
                continue;
            }
            if let Some(anchor) = anchor
                && linked.extension().is_some_and(|e| e == "md")
            {
                let text = std::fs::read_to_string(&linked).expect("read");
                if !anchors(&text).contains(anchor) {
                    broken.push(format!("{name}: ({target}): no heading with that anchor"));
                }
            }
        }
    }
    assert!(checked > 20, "links were found ({checked})");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn headings_become_the_anchors_github_makes() {
    let cases = [
        ("Quick start", "quick-start"),
        (
            "`[andon]` section of the plant model",
            "andon-section-of-the-plant-model",
        ),
        ("Plant model (`config/plant.toml`)", "plant-model-configplanttoml"),
        (
            "Downtime reasons, classification and Pareto",
            "downtime-reasons-classification-and-pareto",
        ),
        (
            "MS5 — real-time factory-floor dashboard",
            "ms5--real-time-factory-floor-dashboard",
        ),
    ];
    for (heading, want) in cases {
        assert_eq!(slug(heading), want, "{heading}");
    }
    let numbered = anchors("# A\n## A\n```\n# not a heading\n```\n");
    assert_eq!(numbered, HashSet::from(["a".to_owned(), "a-1".to_owned()]));
}
