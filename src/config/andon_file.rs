//! The `[andon]` part of the plant model: pager targets, escalation policies, auto-raise
//! rules and the downtime reason tree. Secrets come from environment variables
//! (`secret_env`, `routing_key_env`) so the file holds none.

use std::collections::HashSet;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use crate::domain::andon::{Anchor, Category, EscalationLevel, EscalationPolicy, PolicyBook, Priority, ReasonTree};
use crate::domain::page::PagerKind;
use crate::domain::plant::{AndonModel, AutoRaiseRule, AutoRaiseScope, LineModel, MachineModel, PagerTarget};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AndonFile {
    #[serde(default)]
    reasons: Option<ReasonTree>,
    #[serde(default)]
    targets: Vec<TargetFile>,
    #[serde(default)]
    policies: Vec<PolicyFile>,
    #[serde(default)]
    auto_raise: Vec<AutoRaiseFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    name: String,
    kind: PagerKind,
    #[serde(default)]
    url: String,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    secret_env: Option<String>,
    #[serde(default)]
    routing_key: Option<String>,
    #[serde(default)]
    routing_key_env: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelFile {
    #[serde(with = "humantime_serde")]
    after: Duration,
    targets: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    category: Option<Category>,
    #[serde(default)]
    priority: Option<Priority>,
    #[serde(default)]
    anchor: Anchor,
    levels: Vec<LevelFile>,
    #[serde(default)]
    resolve_deadline: Option<LevelFile>,
}

fn default_category() -> Category {
    Category::Maintenance
}

fn default_priority() -> Priority {
    Priority::High
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AutoRaiseFile {
    #[serde(default)]
    line: Option<String>,
    #[serde(default)]
    machine: Option<String>,
    #[serde(with = "humantime_serde")]
    after: Duration,
    #[serde(default = "default_category")]
    category: Category,
    #[serde(default = "default_priority")]
    priority: Priority,
    #[serde(default = "yes")]
    auto_resolve: bool,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A secret given inline or by the name of an environment variable.
fn resolve_secret(
    file: &str,
    key: &str,
    inline: Option<String>,
    env: Option<String>,
) -> Result<Option<String>, ConfigError> {
    match (inline, env) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            file,
            key,
            "give the value or its environment variable, not both",
        )),
        (Some(v), None) => Ok(Some(v)),
        (None, Some(var)) => match std::env::var(&var) {
            Ok(v) if !v.is_empty() => Ok(Some(v)),
            _ => Err(ConfigError::new(
                file,
                format!("{key}_env"),
                format!("environment variable {var} is not set"),
            )),
        },
        (None, None) => Ok(None),
    }
}

impl AndonFile {
    /// Validates into the domain model.
    pub(super) fn validate(
        self,
        file: &str,
        lines: &[LineModel],
        machines: &[MachineModel],
    ) -> Result<AndonModel, ConfigError> {
        let err = |key: String, reason: String| Err(ConfigError::new(file, key, reason));
        let mut targets = Vec::new();
        let mut names = HashSet::new();
        for (i, t) in self.targets.into_iter().enumerate() {
            let key = format!("andon.targets[{i}]");
            if t.name.is_empty() || !names.insert(t.name.clone()) {
                return err(
                    format!("{key}.name"),
                    format!("target names must be unique and not empty (`{}`)", t.name),
                );
            }
            if t.kind != PagerKind::Log && !(t.url.starts_with("https://") || t.url.starts_with("http://")) {
                return err(format!("{key}.url"), "must be an http:// or https:// URL".into());
            }
            let secret = resolve_secret(file, &format!("{key}.secret"), t.secret, t.secret_env)?;
            let routing_key = resolve_secret(file, &format!("{key}.routing_key"), t.routing_key, t.routing_key_env)?;
            match t.kind {
                PagerKind::Generic if secret.is_none() => {
                    return err(
                        format!("{key}.secret"),
                        "a generic target signs its pages: set secret_env".into(),
                    );
                }
                PagerKind::Pagerduty if routing_key.is_none() => {
                    return err(
                        format!("{key}.routing_key"),
                        "a pagerduty target needs routing_key_env".into(),
                    );
                }
                _ => {}
            }
            targets.push(PagerTarget {
                name: t.name,
                kind: t.kind,
                url: t.url,
                secret,
                routing_key,
            });
        }
        let level = |key: String, l: LevelFile| -> Result<EscalationLevel, ConfigError> {
            if l.after.is_zero() {
                return Err(ConfigError::new(file, format!("{key}.after"), "must be longer than 0"));
            }
            if let Some(unknown) = l.targets.iter().find(|t| !names.contains(*t)) {
                return Err(ConfigError::new(
                    file,
                    format!("{key}.targets"),
                    format!("no target named `{unknown}`"),
                ));
            }
            Ok(EscalationLevel {
                after_ms: ms(l.after),
                targets: l.targets,
            })
        };
        let mut policies = Vec::new();
        for (i, p) in self.policies.into_iter().enumerate() {
            let key = format!("andon.policies[{i}]");
            let levels = p
                .levels
                .into_iter()
                .enumerate()
                .map(|(j, l)| level(format!("{key}.levels[{j}]"), l))
                .collect::<Result<Vec<_>, _>>()?;
            if p.anchor == Anchor::Raise && levels.windows(2).any(|w| w[1].after_ms <= w[0].after_ms) {
                return err(
                    format!("{key}.levels"),
                    "with anchor = \"raise\" each level must come after the one before".into(),
                );
            }
            let resolve_deadline = p
                .resolve_deadline
                .map(|l| level(format!("{key}.resolve_deadline"), l))
                .transpose()?;
            policies.push((
                p.category,
                p.priority,
                EscalationPolicy {
                    anchor: p.anchor,
                    levels,
                    resolve_deadline,
                },
            ));
        }
        let mut auto_raise = Vec::new();
        for (i, r) in self.auto_raise.into_iter().enumerate() {
            let key = format!("andon.auto_raise[{i}]");
            let scope = match (&r.line, &r.machine) {
                (Some(l), None) => match lines.iter().position(|x| &x.id == l) {
                    Some(idx) => AutoRaiseScope::Line(idx),
                    None => return err(format!("{key}.line"), format!("no line `{l}`")),
                },
                (None, Some(m)) => match machines.iter().position(|x| &x.id == m) {
                    Some(idx) => AutoRaiseScope::Machine(idx),
                    None => return err(format!("{key}.machine"), format!("no machine `{m}`")),
                },
                _ => return err(key, "give exactly one of `line` or `machine`".into()),
            };
            if r.after.is_zero() {
                return err(format!("{key}.after"), "must be longer than 0".into());
            }
            auto_raise.push(AutoRaiseRule {
                scope,
                after_ms: ms(r.after),
                category: r.category,
                priority: r.priority,
                auto_resolve: r.auto_resolve,
            });
        }
        let reasons = self.reasons.unwrap_or_else(ReasonTree::standard);
        if reasons.0.is_empty() {
            return err("andon.reasons".into(), "needs at least one reason".into());
        }
        // Codes are written "category/sub": a name with a slash could never be chosen.
        for (category, subs) in &reasons.0 {
            if let Some(bad) = std::iter::once(category)
                .chain(subs)
                .find(|n| n.is_empty() || n.contains('/'))
            {
                return err(
                    format!("andon.reasons.{category}"),
                    format!("reason names must be non-empty and without `/` (`{bad}`)"),
                );
            }
        }
        Ok(AndonModel {
            policies: PolicyBook::new(policies),
            targets,
            auto_raise,
            reasons,
        })
    }
}
