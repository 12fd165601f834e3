//! The deployment artifacts under `deploy/`, each checked by the tool that would reject it:
//! promtool (alert rules and their unit tests), hadolint (Dockerfile), kubectl's kustomize
//! and kubernetes-validate (the Kubernetes overlays), systemd-analyze (the edge unit), and
//! structural checks of the compose file and the Grafana dashboards against a running MS5.
//! `scripts/test.sh` installs the tools; see `common::tools` for how a missing one is handled.

mod common;

use std::collections::HashSet;
use std::process::Command;

use common::tools::{self, find, repo, require, run};
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
        assert!(anchors.contains(anchor), "{name}: docs/operations.md has no heading #{anchor}");
        n += 1;
    }
    assert!(n >= 10);
}
