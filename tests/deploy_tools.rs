//! The deployment artifacts under `deploy/`, each checked by the tool that would reject it:
//! promtool (alert rules and their unit tests), hadolint (Dockerfile), kubectl's kustomize
//! and kubernetes-validate (the Kubernetes overlays), systemd-analyze (the edge unit), and
//! structural checks of the compose file and the Grafana dashboards against a running MS5.
//! `scripts/test.sh` installs the tools; see `common::tools` for how a missing one is handled.

mod common;

use std::collections::HashSet;
use std::process::Command;

use common::tools::{self, find, repo, require, run};
use common::{Spawn, TEST_PLANT, spawn_app, temp};
use serde::Deserialize;
use serde_yaml::Value as Yaml;

fn yaml(path: &str) -> Yaml {
    let text = std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn alert_rules_pass_promtool_and_their_unit_tests() {
    let Some(promtool) = require(find("promtool", "MS5_PROMTOOL", None), "promtool") else {
        return;
    };
    let dir = repo().join("deploy/prometheus");
    let checked = run(Command::new(&promtool).args(["check", "rules", "rules.yml"]), &dir);
    assert!(checked.contains("SUCCESS"), "{checked}");
    let tested = run(Command::new(&promtool).args(["test", "rules", "rules.test.yml"]), &dir);
    assert!(tested.contains("SUCCESS"), "{tested}");
}

/// Every alert has a unit test that fires it and one evaluation where it stays quiet.
#[test]
fn every_alert_is_tested_firing_and_quiet() {
    let rules = yaml("deploy/prometheus/rules.yml");
    let tests = yaml("deploy/prometheus/rules.test.yml");
    let alerts: Vec<&str> = rules["groups"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_sequence().into_iter().flatten())
        .filter_map(|r| r["alert"].as_str())
        .collect();
    assert!(alerts.len() >= 10, "{alerts:?}");
    let (mut fired, mut quiet) = (HashSet::new(), HashSet::new());
    for t in tests["tests"].as_sequence().into_iter().flatten() {
        for case in t["alert_rule_test"].as_sequence().into_iter().flatten() {
            let name = case["alertname"].as_str().unwrap_or_default().to_owned();
            match case["exp_alerts"].as_sequence() {
                Some(a) if !a.is_empty() => fired.insert(name),
                _ => quiet.insert(name),
            };
        }
    }
    for a in &alerts {
        assert!(fired.contains(*a), "no test fires {a}");
        assert!(quiet.contains(*a), "no test keeps {a} quiet");
    }
}

/// Each alert's runbook link names a heading of docs/operations.md.
#[test]
fn every_alert_links_a_runbook_heading_in_the_operations_page() {
    let rules = yaml("deploy/prometheus/rules.yml");
    let page = std::fs::read_to_string(repo().join("docs/operations.md")).expect("docs/operations.md");
    let anchors = tools::anchors(&page);
    let mut n = 0;
    for rule in rules["groups"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_sequence().into_iter().flatten())
    {
        let name = rule["alert"].as_str().unwrap_or("?");
        let url = rule["annotations"]["runbook_url"].as_str().unwrap_or_default();
        let anchor = url
            .strip_prefix("docs/operations.md#")
            .unwrap_or_else(|| panic!("{name}: runbook_url `{url}` is not into docs/operations.md"));
        assert!(
            anchors.contains(anchor),
            "{name}: docs/operations.md has no heading #{anchor}"
        );
        n += 1;
    }
    assert!(n >= 10);
}

#[test]
fn the_dockerfile_passes_hadolint_and_copies_only_what_exists() {
    let dockerfile = repo().join("deploy/docker/Dockerfile");
    let text = std::fs::read_to_string(&dockerfile).expect("Dockerfile");
    // Every COPY from the build context names files that exist, and .dockerignore lets
    // them through (it ignores everything else).
    let ignore = std::fs::read_to_string(repo().join(".dockerignore")).expect(".dockerignore");
    for line in text
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from="))
    {
        let parts: Vec<&str> = line.split_whitespace().skip(1).collect();
        for src in &parts[..parts.len() - 1] {
            assert!(repo().join(src).exists(), "COPY {src}: no such file");
            // The file or a folder above it is let through (`!path`).
            let through = ignore
                .lines()
                .filter_map(|l| l.strip_prefix('!'))
                .map(|l| l.trim_end_matches('/'))
                .any(|allowed| {
                    let src = src.trim_end_matches('/');
                    src == allowed || src.starts_with(&format!("{allowed}/"))
                });
            assert!(through, ".dockerignore does not let {src} through");
        }
    }
    for needed in [
        "USER 10001",
        "HEALTHCHECK",
        "/health",
        "VOLUME [\"/var/lib/ms5\"]",
        "--locked",
    ] {
        assert!(text.contains(needed), "the Dockerfile lacks {needed}");
    }
    let Some(hadolint) = require(find("hadolint", "MS5_HADOLINT", Some("venv/bin/hadolint")), "hadolint") else {
        return;
    };
    let out = run(Command::new(&hadolint).arg("deploy/docker/Dockerfile"), &repo());
    assert!(out.trim().is_empty(), "hadolint: {out}");
}

/// The rendered overlay's documents.
fn kustomize(kubectl: &std::path::Path, overlay: &str) -> Vec<Yaml> {
    let out = run(
        Command::new(kubectl).args(["kustomize", overlay]),
        &repo().join("deploy/k8s"),
    );
    serde_yaml::Deserializer::from_str(&out)
        .map(|d| Yaml::deserialize(d).expect("kustomize output is YAML"))
        .collect()
}

fn kind<'a>(docs: &'a [Yaml], kind: &str) -> Vec<&'a Yaml> {
    docs.iter().filter(|d| d["kind"].as_str() == Some(kind)).collect()
}

/// Both overlays render with kubectl's kustomize and pass kubernetes-validate (Kubernetes
/// 1.33's schemas, strict: unknown fields fail). The ServiceMonitor is a CRD without a
/// schema there, so kubernetes-validate skips it and this test checks it against the
/// Service by hand.
#[test]
fn kubernetes_overlays_render_and_validate() {
    let Some(kubectl) = require(
        find("kubectl", "MS5_KUBECTL", Some("kubectl/kubectl")).or_else(|| find("kustomize", "MS5_KUSTOMIZE", None)),
        "kubectl (kustomize)",
    ) else {
        return;
    };
    let validator = require(
        find(
            "kubernetes-validate",
            "MS5_KUBERNETES_VALIDATE",
            Some("venv/bin/kubernetes-validate"),
        ),
        "kubernetes-validate",
    );
    let dir = temp();
    for overlay in ["overlays/edge", "overlays/production"] {
        let docs = kustomize(&kubectl, overlay);
        let deployment = kind(&docs, "Deployment");
        assert_eq!(deployment.len(), 1, "{overlay}");
        let pod = &deployment[0]["spec"]["template"]["spec"];
        let c = &pod["containers"][0];
        assert_eq!(
            c["livenessProbe"]["httpGet"]["path"].as_str(),
            Some("/health"),
            "{overlay}"
        );
        assert_eq!(
            c["readinessProbe"]["httpGet"]["path"].as_str(),
            Some("/ready"),
            "{overlay}"
        );
        assert!(c["lifecycle"]["preStop"].is_mapping(), "{overlay}: preStop");
        assert!(
            c["resources"]["requests"]["cpu"].as_str().is_some(),
            "{overlay}: resources"
        );
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"].as_bool(), Some(true));
        // The ServiceMonitor selects the Service and scrapes a port it has.
        let service = kind(&docs, "Service")[0];
        let monitor = kind(&docs, "ServiceMonitor");
        assert_eq!(monitor.len(), 1, "{overlay}");
        let wanted = monitor[0]["spec"]["selector"]["matchLabels"]
            .as_mapping()
            .expect("selector");
        for (k, v) in wanted {
            assert_eq!(
                &service["metadata"]["labels"][k], v,
                "{overlay}: the ServiceMonitor misses the Service"
            );
        }
        let port = monitor[0]["spec"]["endpoints"][0]["port"].as_str();
        assert!(
            service["spec"]["ports"]
                .as_sequence()
                .into_iter()
                .flatten()
                .any(|p| p["name"].as_str() == port),
            "{overlay}: no Service port {port:?}"
        );
        // The Service and the NetworkPolicy select the Deployment's pods.
        let labels = &pod_labels(deployment[0]);
        for (what, selector) in [
            ("Service", &service["spec"]["selector"]),
            (
                "NetworkPolicy",
                &kind(&docs, "NetworkPolicy")[0]["spec"]["podSelector"]["matchLabels"],
            ),
        ] {
            for (k, v) in selector.as_mapping().expect("selector") {
                assert_eq!(&labels[k], v, "{overlay}: the {what} misses the pods");
            }
        }
        if overlay.ends_with("production") {
            // Replicas share the lines and their live state: cluster on, Redis set, and each
            // replica named after its pod.
            let env: std::collections::HashMap<&str, &serde_yaml::Value> = c["env"]
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(|e| Some((e["name"].as_str()?, e)))
                .collect();
            assert_eq!(env["MS5__CLUSTER__ENABLED"]["value"].as_str(), Some("true"));
            assert_eq!(
                env["MS5__CLUSTER__REPLICA"]["valueFrom"]["fieldRef"]["fieldPath"].as_str(),
                Some("metadata.name")
            );
            assert_eq!(
                env["MS5__REDIS__URL"]["valueFrom"]["secretKeyRef"]["name"].as_str(),
                Some("ms5-redis")
            );
            let hpa = kind(&docs, "HorizontalPodAutoscaler");
            assert_eq!(hpa[0]["spec"]["minReplicas"].as_u64(), Some(2));
            assert_eq!(hpa[0]["spec"]["maxReplicas"].as_u64(), Some(10));
            assert_eq!(kind(&docs, "PodDisruptionBudget").len(), 1);
        } else {
            assert_eq!(
                deployment[0]["spec"]["replicas"].as_u64(),
                Some(1),
                "edge: one replica on SQLite"
            );
            assert_eq!(kind(&docs, "CronJob").len(), 1, "edge: the hourly backup");
        }
        let Some(validator) = &validator else { continue };
        let file = dir.path().join(format!("{}.yaml", overlay.replace('/', "-")));
        let rendered: Vec<String> = docs
            .iter()
            .filter(|d| d["kind"].as_str() != Some("ServiceMonitor"))
            .map(|d| serde_yaml::to_string(d).expect("yaml"))
            .collect();
        std::fs::write(&file, rendered.join("---\n")).expect("write");
        let out = run(
            Command::new(validator)
                .args(["--strict", "--kubernetes-version", "1.33.0"])
                .arg(&file),
            &repo(),
        );
        assert!(!out.contains("ERROR") && !out.contains("WARN"), "{overlay}: {out}");
        assert_eq!(
            out.matches("passed for resource").count(),
            rendered.len(),
            "{overlay}: {out}"
        );
    }
}

fn pod_labels(deployment: &Yaml) -> Yaml {
    deployment["spec"]["template"]["metadata"]["labels"].clone()
}

/// The edge units pass `systemd-analyze verify` without a warning (an unknown key is only a
/// warning there), with ExecStart pointed at the real binary.
#[test]
fn edge_units_pass_systemd_analyze_verify() {
    let Some(analyze) = require(find("systemd-analyze", "MS5_SYSTEMD_ANALYZE", None), "systemd-analyze") else {
        return;
    };
    let dir = temp();
    let units = ["ms5.service", "ms5-backup.service", "ms5-backup.timer"];
    for unit in units {
        let text = std::fs::read_to_string(repo().join("deploy/edge").join(unit)).expect("unit");
        let text = text.replace("/usr/local/bin/ms5", env!("CARGO_BIN_EXE_ms5"));
        std::fs::write(dir.path().join(unit), text).expect("write unit");
    }
    let out = Command::new(&analyze)
        .arg("verify")
        .args(units)
        .current_dir(dir.path())
        .output()
        .expect("systemd-analyze");
    let said = String::from_utf8_lossy(&out.stderr);
    let ours: Vec<&str> = said.lines().filter(|l| units.iter().any(|u| l.contains(u))).collect();
    assert!(
        out.status.success() && ours.is_empty(),
        "systemd-analyze verify:\n{said}"
    );
    let unit = std::fs::read_to_string(repo().join("deploy/edge/ms5.service")).expect("unit");
    for hardening in [
        "User=ms5",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/ms5",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=\n",
        "Restart=on-failure",
        "Type=notify",
        "WatchdogSec=",
    ] {
        assert!(unit.contains(hardening), "ms5.service lacks {hardening:?}");
    }
}

/// The compose file: every service named in the issue, every file it mounts exists, every
/// secret comes from a file that `deploy/secrets.sh` makes, and no secret is written inline.
#[test]
fn compose_wires_every_service_with_files_and_secrets_from_files() {
    let compose = yaml("deploy/compose.yaml");
    let deploy = repo().join("deploy");
    let services = compose["services"].as_mapping().expect("services");
    for name in [
        "ms5",
        "nginx",
        "postgres",
        "redis",
        "prometheus",
        "alertmanager",
        "grafana",
    ] {
        assert!(services.contains_key(name), "no service {name}");
    }
    assert!(
        compose["services"]["postgres"]["image"]
            .as_str()
            .unwrap_or_default()
            .contains("timescaledb")
    );
    // The secret files, made the way a user makes them.
    let secrets_dir = temp();
    let made = run(
        Command::new("bash")
            .arg(deploy.join("secrets.sh"))
            .arg(secrets_dir.path()),
        &repo(),
    );
    assert!(made.contains("secrets in"), "{made}");
    let declared = compose["secrets"].as_mapping().expect("top-level secrets");
    for (name, secret) in declared {
        let file = secret["file"]
            .as_str()
            .unwrap_or_else(|| panic!("secret {name:?} is not from a file"));
        let rel = file
            .strip_prefix("./secrets/")
            .unwrap_or_else(|| panic!("{file}: not under ./secrets/"));
        let made = secrets_dir.path().join(rel);
        let len = std::fs::metadata(&made).map(|m| m.len()).unwrap_or(0);
        assert!(len > 0, "secrets.sh does not make {file}");
    }
    // MS5's store is the compose PostgreSQL, with the password that server is given.
    let read = |name: &str| std::fs::read_to_string(secrets_dir.path().join(name)).expect(name);
    assert_eq!(
        read("MS5__STORE__URL"),
        format!("postgres://ms5:{}@postgres:5432/ms5", read("postgres_password"))
    );
    let ms5_secrets: Vec<&str> = compose["services"]["ms5"]["secrets"]
        .as_sequence()
        .expect("ms5 secrets")
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    assert!(ms5_secrets.contains(&"MS5__STORE__URL"), "{ms5_secrets:?}");
    assert!(compose["services"]["ms5"]["environment"]["MS5__STORE__URL"].is_null());
    let gitignore = std::fs::read_to_string(repo().join(".gitignore")).expect(".gitignore");
    assert!(
        gitignore.lines().any(|l| l == "/deploy/secrets/"),
        "deploy/secrets/ must stay out of git"
    );
    for (name, config) in compose["configs"].as_mapping().into_iter().flatten() {
        let file = config["file"].as_str().unwrap_or_default();
        assert!(deploy.join(file).exists(), "config {name:?}: {file} does not exist");
    }
    for (name, service) in services {
        let name = name.as_str().unwrap_or("?");
        for volume in service["volumes"].as_sequence().into_iter().flatten() {
            let spec = volume.as_str().unwrap_or_default();
            let source = spec.split(':').next().unwrap_or_default();
            if source.starts_with('.') {
                assert!(
                    deploy.join(source).exists(),
                    "{name}: mounts {source}, which does not exist"
                );
            } else {
                assert!(
                    compose["volumes"].as_mapping().is_some_and(|v| v.contains_key(source)),
                    "{name}: volume {source} is not declared"
                );
            }
        }
        for s in service["secrets"].as_sequence().into_iter().flatten() {
            let source = s.as_str().or_else(|| s["source"].as_str()).unwrap_or_default();
            assert!(declared.contains_key(source), "{name}: secret {source} is not declared");
        }
        // No secret inline: a variable that names one points at a file under /run/secrets.
        for (key, value) in service["environment"].as_mapping().into_iter().flatten() {
            let key = key.as_str().unwrap_or_default().to_uppercase();
            let value = value.as_str().unwrap_or_default();
            if ["SECRET", "PASSWORD", "TOKEN", "KEY"].iter().any(|w| key.contains(w)) {
                assert!(
                    key.ends_with("_FILE") && value.starts_with("/run/secrets/"),
                    "{name}: {key} is written inline"
                );
            }
            assert!(
                !value.contains("://") || !value.contains('@'),
                "{name}: {key} carries credentials"
            );
        }
    }
    // nginx shares ms5's network, so deploy/nginx/ms5.conf's 127.0.0.1:8080 reaches MS5 and
    // MS5 trusts 127.0.0.1 as its proxy.
    assert_eq!(
        compose["services"]["nginx"]["network_mode"].as_str(),
        Some("service:ms5")
    );
    assert_eq!(
        compose["services"]["ms5"]["environment"]["MS5__HTTP__TRUSTED_PROXIES"].as_str(),
        Some("[\"127.0.0.1\"]")
    );
    // Prometheus loads the rules the unit tests check, and scrapes the job the alerts name.
    let prometheus = yaml("deploy/prometheus/prometheus.yml");
    assert_eq!(prometheus["rule_files"][0].as_str(), Some("rules.yml"));
    assert_eq!(prometheus["scrape_configs"][0]["job_name"].as_str(), Some("ms5"));
    if let Some(promtool) = require(find("promtool", "MS5_PROMTOOL", None), "promtool") {
        let out = run(
            Command::new(promtool).args(["check", "config", "--syntax-only", "prometheus.yml"]),
            &deploy.join("prometheus"),
        );
        assert!(out.contains("SUCCESS"), "{out}");
    }
}

/// The metric names in a PromQL expression (or any text): `ms5_…` words.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let bytes = expr.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while let Some(at) = expr[i..].find("ms5_") {
        let start = i + at;
        let mut end = start;
        while end < bytes.len() && word(bytes[end]) {
            end += 1;
        }
        if start == 0 || !word(bytes[start - 1]) {
            names.push(expr[start..end].to_owned());
        }
        i = end.max(start + 1);
    }
    names
}

/// A histogram's series name → its family.
fn family(name: &str) -> &str {
    ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(name)
}

/// Every metric the dashboards and alert rules name is one MS5 exposes: the families a
/// running MS5 renders on /metrics, and the names src/metrics.rs declares (series appear on
/// /metrics only once recorded, e.g. downtime at a stop's end); and every family on
/// /metrics is declared there, so that list is the real one.
#[actix_web::test]
async fn dashboards_and_alerts_name_only_metrics_ms5_exposes() {
    let dir = temp();
    let app = spawn_app(Spawn {
        plant: TEST_PLANT,
        dir: dir.path(),
        clock: ms5::clock::Clock::System,
        simulator: false,
        settings: serde_json::json!({}),
    })
    .await;
    let (status, _) = app.get("/api/v1/production/lines").await;
    assert_eq!(status, 200);
    let (status, text) = app.get_text("/metrics").await;
    assert_eq!(status, 200);
    let served: HashSet<String> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .filter(|n| n.starts_with("ms5_"))
        .map(|n| family(n).to_owned())
        .collect();
    assert!(served.contains("ms5_http_request_duration_seconds"), "{served:?}");
    let source = std::fs::read_to_string(repo().join("src/metrics.rs")).expect("src/metrics.rs");
    let declared: HashSet<String> = source
        .lines()
        .filter(|l| l.starts_with("pub const "))
        .flat_map(metric_names)
        .collect();
    for name in &served {
        assert!(
            declared.contains(name),
            "{name} is on /metrics but not declared in src/metrics.rs"
        );
    }
    let known: HashSet<String> = served.union(&declared).cloned().collect();

    let mut checked = 0;
    let mut titles = Vec::new();
    let provisioned = yaml("deploy/grafana/provisioning/datasources/ms5.yaml");
    let datasource = provisioned["datasources"][0]["uid"]
        .as_str()
        .expect("datasource uid")
        .to_owned();
    let mut uids = HashSet::new();
    let dashboards = repo().join("deploy/grafana/dashboards");
    for entry in std::fs::read_dir(&dashboards).expect("dashboards") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("dashboard");
        let dash: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("?").to_owned();
        assert!(
            uids.insert(dash["uid"].as_str().expect("uid").to_owned()),
            "{file}: uid taken"
        );
        assert!(dash["title"].is_string() && dash["schemaVersion"].is_u64(), "{file}");
        let mut ids = HashSet::new();
        for panel in dash["panels"].as_array().expect("panels") {
            let title = panel["title"].as_str().expect("title");
            assert!(
                ids.insert(panel["id"].as_u64().expect("id")),
                "{file}: {title}: id taken"
            );
            for k in ["x", "y", "w", "h"] {
                assert!(panel["gridPos"][k].is_u64(), "{file}: {title}: gridPos.{k}");
            }
            assert_eq!(
                panel["datasource"]["uid"].as_str(),
                Some(datasource.as_str()),
                "{file}: {title}"
            );
            let targets = panel["targets"].as_array().expect("targets");
            assert!(!targets.is_empty(), "{file}: {title}: no query");
            for t in targets {
                let expr = t["expr"].as_str().expect("expr");
                let names = metric_names(expr);
                assert!(!names.is_empty(), "{file}: {title}: `{expr}` names no MS5 metric");
                for n in names {
                    assert!(known.contains(family(&n)), "{file}: {title}: MS5 has no metric {n}");
                    checked += 1;
                }
            }
            titles.push(title.to_owned());
        }
    }
    for wanted in [
        "OEE by line",
        "Availability",
        "Performance",
        "Quality",
        "Downtime Pareto",
        "Andon: time to acknowledge",
        "API latency",
        "WebSocket clients",
        "PLC success ratio",
    ] {
        assert!(titles.iter().any(|t| t.starts_with(wanted)), "no panel {wanted}");
    }
    let rules = std::fs::read_to_string(repo().join("deploy/prometheus/rules.yml")).expect("rules");
    for rule in rules.lines().filter(|l| !l.trim_start().starts_with('#')) {
        for n in metric_names(rule) {
            assert!(known.contains(family(&n)), "rules.yml: MS5 has no metric {n}");
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked}");
    // The provisioning folder is where compose mounts the dashboards.
    let provider = yaml("deploy/grafana/provisioning/dashboards/ms5.yaml");
    let compose = yaml("deploy/compose.yaml");
    let path = provider["providers"][0]["options"]["path"].as_str().expect("path");
    let mounted = compose["services"]["grafana"]["volumes"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .any(|v| v.starts_with("./grafana/dashboards:") && v.contains(path));
    assert!(mounted, "compose does not mount the dashboards at {path}");
}

#[test]
fn metric_names_are_read_from_promql() {
    // (expression, names)
    let table: [(&str, &[&str]); 4] = [
        ("ms5_oee{scope=\"line\"}", &["ms5_oee"]),
        (
            "histogram_quantile(0.95, sum by (le) (rate(ms5_ws_push_latency_seconds_bucket[5m])))",
            &["ms5_ws_push_latency_seconds_bucket"],
        ),
        ("time() - ms5_start_time_seconds", &["ms5_start_time_seconds"]),
        ("label_values(xms5_a, id) + up", &[]),
    ];
    for (expr, want) in table {
        assert_eq!(metric_names(expr), want, "{expr}");
    }
    assert_eq!(family("ms5_x_seconds_bucket"), "ms5_x_seconds");
    assert_eq!(family("ms5_parts_total"), "ms5_parts_total");
}
