//! The plant model file (`config/plant.toml`): lines, machines, tag maps, shifts.
//!
//! Parsed into plain serde structs, then validated into the domain's [`PlantModel`]; every
//! rule that fails names its key.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Toml};
use serde::Deserialize;

use super::ConfigError;
use super::andon_file::AndonFile;
use super::defects_file;
use crate::domain::counter::{CounterMode, CounterWidth};
use crate::domain::machine_state::MachineState;
use crate::domain::plant::{
    CounterDef, CounterRole, LineModel, MachineModel, PlantModel, Product, SignalDef, SignalKind,
};
use crate::domain::production::defects::DefectTree;
use crate::domain::shift::{ShiftCalendar, ShiftDef};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlantFile {
    timezone: String,
    #[serde(with = "humantime_serde", default = "default_micro_stop")]
    microstop_threshold: Duration,
    #[serde(with = "humantime_serde", default = "default_stale_after")]
    stale_after: Duration,
    /// Default state code map for `state` tags without their own.
    #[serde(default)]
    state_codes: Option<BTreeMap<String, MachineState>>,
    #[serde(default)]
    shifts: Vec<ShiftDef>,
    lines: Vec<LineFile>,
    #[serde(default)]
    andon: AndonFile,
    /// Defect codes for manual rejects, for lines without their own.
    #[serde(default)]
    defects: Option<DefectTree>,
}

fn default_micro_stop() -> Duration {
    Duration::from_secs(120)
}

fn default_stale_after() -> Duration {
    Duration::from_secs(30)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineFile {
    id: String,
    name: String,
    #[serde(default)]
    output_machine: Option<String>,
    #[serde(default)]
    constraint_machine: Option<String>,
    /// This line's defect codes (replaces the plant's `[defects]`).
    #[serde(default)]
    defects: Option<DefectTree>,
    machines: Vec<MachineFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MachineFile {
    id: String,
    name: String,
    #[serde(with = "humantime_serde")]
    ideal_cycle_time: Duration,
    #[serde(default)]
    products: Vec<ProductFile>,
    #[serde(default)]
    fault_codes: BTreeMap<String, String>,
    tags: TagsFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductFile {
    code: i64,
    name: String,
    #[serde(with = "humantime_serde")]
    ideal_cycle_time: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TagsFile {
    #[serde(default)]
    state: Option<StateTagFile>,
    #[serde(default)]
    running: Option<String>,
    #[serde(default)]
    fault: Option<String>,
    #[serde(default)]
    good: Option<CounterFile>,
    #[serde(default)]
    reject: Option<CounterFile>,
    #[serde(default)]
    total: Option<CounterFile>,
    #[serde(default)]
    fault_code: Option<String>,
    #[serde(default)]
    product: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateTagFile {
    tag: String,
    #[serde(default)]
    map: Option<BTreeMap<String, MachineState>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CounterFile {
    tag: String,
    #[serde(default)]
    width: Option<CounterWidth>,
    #[serde(default)]
    mode: CounterMode,
}

/// The state codes used when neither the tag nor the plant gives a map.
fn standard_state_codes() -> HashMap<i64, MachineState> {
    HashMap::from([
        (1, MachineState::Running),
        (2, MachineState::Idle),
        (3, MachineState::Down),
        (4, MachineState::PlannedStop),
        (5, MachineState::Changeover),
    ])
}

fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Parses and validates a plant model; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<PlantModel, ConfigError> {
    let raw: PlantFile = Figment::from(Toml::string(text)).extract().map_err(|e| {
        let key = if e.path.is_empty() {
            "(top level)".to_owned()
        } else {
            e.path.join(".")
        };
        ConfigError::new(file, key, e.kind.to_string())
    })?;
    Validator { file }.plant(raw)
}

/// Plant-wide timing every machine gets.
#[derive(Debug, Clone, Copy)]
struct Timing {
    micro_stop_threshold_ms: i64,
    stale_after_ms: i64,
}

struct Validator<'a> {
    file: &'a str,
}

impl Validator<'_> {
    fn err<T>(&self, key: impl Into<String>, reason: impl Into<String>) -> Result<T, ConfigError> {
        Err(ConfigError::new(self.file, key, reason))
    }

    fn code_map(
        &self,
        key: &str,
        map: &BTreeMap<String, MachineState>,
    ) -> Result<HashMap<i64, MachineState>, ConfigError> {
        map.iter()
            .map(|(code, state)| match i64::from_str(code) {
                Ok(c) => Ok((c, *state)),
                Err(_) => self.err(format!("{key}.{code}"), "state codes must be whole numbers"),
            })
            .collect()
    }

    fn plant(&self, mut raw: PlantFile) -> Result<PlantModel, ConfigError> {
        let Ok(tz) = chrono_tz::Tz::from_str(&raw.timezone) else {
            return self.err(
                "timezone",
                format!("`{}` is not an IANA time zone (e.g. Europe/Berlin)", raw.timezone),
            );
        };
        let calendar = match ShiftCalendar::new(tz, raw.shifts) {
            Ok(c) => c,
            Err(e) => return self.err("shifts", e.to_string()),
        };
        if raw.stale_after.is_zero() {
            return self.err("stale_after", "must be longer than 0");
        }
        let default_codes = match &raw.state_codes {
            Some(map) => self.code_map("state_codes", map)?,
            None => standard_state_codes(),
        };
        if raw.lines.is_empty() {
            return self.err("lines", "at least one line is needed");
        }
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let timing = Timing {
            micro_stop_threshold_ms: ms(raw.microstop_threshold),
            stale_after_ms: ms(raw.stale_after),
        };
        let plant_defects = defects_file::plant_tree(self.file, raw.defects.take())?;
        let mut ids = HashSet::new();
        let mut tags = HashMap::new();
        let mut lines = Vec::new();
        let mut machines: Vec<MachineModel> = Vec::new();
        for (li, line) in std::mem::take(&mut raw.lines).into_iter().enumerate() {
            let lkey = format!("lines[{li}]");
            if !is_valid_id(&line.id) {
                return self.err(format!("{lkey}.id"), "ids are 1-64 characters of A-Z a-z 0-9 - _ .");
            }
            if !ids.insert(line.id.clone()) {
                return self.err(format!("{lkey}.id"), format!("`{}` is used twice", line.id));
            }
            if line.machines.is_empty() {
                return self.err(format!("{lkey}.machines"), "a line needs at least one machine");
            }
            let mut members = Vec::new();
            for (mi, m) in line.machines.into_iter().enumerate() {
                let mkey = format!("{lkey}.machines[{mi}]");
                if !is_valid_id(&m.id) {
                    return self.err(format!("{mkey}.id"), "ids are 1-64 characters of A-Z a-z 0-9 - _ .");
                }
                if !ids.insert(m.id.clone()) {
                    return self.err(format!("{mkey}.id"), format!("`{}` is used twice", m.id));
                }
                let idx = machines.len();
                let model = self.machine(&mkey, m, li, &line.id, &default_codes, timing)?;
                for (si, s) in model.signals.iter().enumerate() {
                    if tags.insert(s.tag.clone(), (idx, si)).is_some() {
                        return self.err(
                            format!("{mkey}.tags"),
                            format!("tag `{}` is used twice in the plant", s.tag),
                        );
                    }
                }
                machines.push(model);
                members.push(idx);
            }
            let pick = |key: &str, wanted: &Option<String>| -> Result<usize, ConfigError> {
                match wanted {
                    None => Ok(*members.last().unwrap_or(&0)),
                    Some(id) => members.iter().copied().find(|&i| machines[i].id == *id).ok_or_else(|| {
                        ConfigError::new(
                            self.file,
                            format!("{lkey}.{key}"),
                            format!("`{id}` is not a machine of this line"),
                        )
                    }),
                }
            };
            let output = pick("output_machine", &line.output_machine)?;
            let constraint = pick("constraint_machine", &line.constraint_machine)?;
            let defects = defects_file::line_tree(
                self.file,
                &format!("{lkey}.defects"),
                line.defects,
                plant_defects.as_ref(),
            )?;
            lines.push(LineModel {
                id: line.id,
                name: line.name,
                machines: members,
                output,
                constraint,
                defects,
            });
        }
        let andon = raw.andon.validate(self.file, &lines, &machines)?;
        Ok(PlantModel {
            lines,
            machines,
            calendar,
            tags,
            andon,
        })
    }

    fn machine(
        &self,
        key: &str,
        m: MachineFile,
        line: usize,
        line_id: &str,
        default_codes: &HashMap<i64, MachineState>,
        timing: Timing,
    ) -> Result<MachineModel, ConfigError> {
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        if m.ideal_cycle_time.is_zero() {
            return self.err(format!("{key}.ideal_cycle_time"), "must be longer than 0");
        }
        let mut products = HashMap::new();
        for (pi, p) in m.products.into_iter().enumerate() {
            if p.ideal_cycle_time.is_zero() {
                return self.err(
                    format!("{key}.products[{pi}].ideal_cycle_time"),
                    "must be longer than 0",
                );
            }
            let product = Product {
                name: p.name,
                ideal_cycle_ms: ms(p.ideal_cycle_time),
            };
            if products.insert(p.code, product).is_some() {
                return self.err(
                    format!("{key}.products[{pi}].code"),
                    format!("product code {} is used twice", p.code),
                );
            }
        }
        let mut fault_codes = HashMap::new();
        for (code, reason) in m.fault_codes {
            let Ok(c) = i64::from_str(&code) else {
                return self.err(format!("{key}.fault_codes.{code}"), "fault codes must be whole numbers");
            };
            fault_codes.insert(c, reason);
        }
        let t = m.tags;
        let mut signals = Vec::new();
        match (&t.state, &t.running, &t.fault) {
            (None, None, None) => {
                return self.err(
                    format!("{key}.tags"),
                    "needs a `state` tag, or `running` and/or `fault` bits",
                );
            }
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return self.err(
                    format!("{key}.tags"),
                    "use either a `state` tag or `running`/`fault` bits, not both",
                );
            }
            _ => {}
        }
        if let Some(s) = t.state {
            let map = match &s.map {
                Some(map) => self.code_map(&format!("{key}.tags.state.map"), map)?,
                None => default_codes.clone(),
            };
            signals.push(SignalDef {
                tag: s.tag,
                kind: SignalKind::StateCode(map),
            });
        }
        if let Some(tag) = t.running {
            signals.push(SignalDef {
                tag,
                kind: SignalKind::RunningBit,
            });
        }
        if let Some(tag) = t.fault {
            signals.push(SignalDef {
                tag,
                kind: SignalKind::FaultBit,
            });
        }
        let (has_total, has_good) = (t.total.is_some(), t.good.is_some());
        if !has_total && !has_good {
            return self.err(format!("{key}.tags"), "needs a `good` or a `total` counter");
        }
        for (role, counter) in [
            (CounterRole::Total, t.total),
            (CounterRole::Good, t.good),
            (CounterRole::Reject, t.reject),
        ] {
            if let Some(c) = counter {
                let def = CounterDef::for_role(role, has_total, has_good, c.mode, c.width.unwrap_or_default());
                signals.push(SignalDef {
                    tag: c.tag,
                    kind: SignalKind::Counter(def),
                });
            }
        }
        if let Some(tag) = t.fault_code {
            signals.push(SignalDef {
                tag,
                kind: SignalKind::FaultCode,
            });
        }
        if let Some(tag) = t.product {
            signals.push(SignalDef {
                tag,
                kind: SignalKind::ProductCode,
            });
        }
        if let Some(empty) = signals.iter().find(|s| s.tag.trim().is_empty()) {
            return self.err(format!("{key}.tags"), format!("a tag name is empty ({:?})", empty.kind));
        }
        Ok(MachineModel {
            id: m.id,
            name: m.name,
            line,
            line_id: line_id.to_owned(),
            signals,
            ideal_cycle_ms: ms(m.ideal_cycle_time),
            products,
            fault_codes,
            micro_stop_threshold_ms: timing.micro_stop_threshold_ms,
            stale_after_ms: timing.stale_after_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        timezone = "UTC"
        [[shifts]]
        name = "day"
        start = "06:00"
        end = "14:00"
        [[lines]]
        id = "l1"
        name = "Line 1"
        [[lines.machines]]
        id = "m1"
        name = "Filler"
        ideal_cycle_time = "1s"
        fault_codes = { 101 = "jam" }
        tags = { state = { tag = "M1.State" }, good = { tag = "M1.Good", width = 32 }, reject = { tag = "M1.Reject" } }
        [[lines.machines]]
        id = "m2"
        name = "Packer"
        ideal_cycle_time = "500ms"
        tags = { running = "M2.Run", fault = "M2.Fault", total = { tag = "M2.Total", mode = "increment" } }
    "#;

    #[test]
    fn a_valid_model_builds_lines_machines_and_tags() {
        let plant = parse(GOOD, "plant.toml").unwrap();
        assert_eq!(plant.lines.len(), 1);
        assert_eq!(plant.machines.len(), 2);
        // defaults: the last machine is output and constraint
        assert_eq!((plant.lines[0].output, plant.lines[0].constraint), (1, 1));
        assert_eq!(plant.tags.get("M1.Reject"), Some(&(0, 2)));
        assert_eq!(plant.machines[0].fault_codes.get(&101).map(String::as_str), Some("jam"));
        assert_eq!(plant.machines[1].ideal_cycle_ms, 500);
        assert_eq!(plant.machines[0].micro_stop_threshold_ms, 120_000);
        assert_eq!(plant.machines[0].stale_after_ms, 30_000);
    }

    #[test]
    fn errors_name_the_file_the_key_and_the_reason() {
        let cases = [
            (GOOD.replace("\"UTC\"", "\"Mars/Olympus\""), "timezone", "IANA"),
            (
                GOOD.replace("ideal_cycle_time = \"1s\"", "ideal_cycle_time = \"0s\""),
                "lines[0].machines[0].ideal_cycle_time",
                "longer than 0",
            ),
            (
                GOOD.replace("ideal_cycle_time = \"1s\"", "ideal_cycle_time = \"fast\""),
                "lines.0.machines.0.ideal_cycle_time",
                "",
            ),
            (
                GOOD.replace("id = \"m2\"", "id = \"m1\""),
                "lines[0].machines[1].id",
                "used twice",
            ),
            (
                GOOD.replace("\"M2.Total\"", "\"M1.Good\""),
                "lines[0].machines[1].tags",
                "M1.Good",
            ),
            (
                GOOD.replace("name = \"Line 1\"", "name = \"Line 1\"\noutput_machine = \"nope\""),
                "lines[0].output_machine",
                "not a machine",
            ),
            (GOOD.replace("end = \"14:00\"", "end = \"06:00\""), "shifts", "day"),
            (
                GOOD.replace("good = { tag = \"M1.Good\", width = 32 }, ", ""),
                "lines[0].machines[0].tags",
                "counter",
            ),
            (
                GOOD.replace("width = 32", "width = 12"),
                "lines.0.machines.0.tags",
                "16 or 32",
            ),
            (GOOD.replace("id = \"l1\"", "id = \"l 1\""), "lines[0].id", "characters"),
            (
                GOOD.replace(
                    "{ tag = \"M1.State\" }",
                    "{ tag = \"M1.State\", map = { 1 = \"flying\" } }",
                ),
                "lines.0.machines.0.tags",
                "flying",
            ),
            (
                format!("{GOOD}\n[andon.reasons]\n\"mechanical/x\" = []\n"),
                "andon.reasons.mechanical/x",
                "without `/`",
            ),
            (
                format!("{GOOD}\n[[andon.auto_raise]]\nline = \"nope\"\nafter = \"5m\"\n"),
                "andon.auto_raise[0].line",
                "no line",
            ),
        ];
        for (text, key, reason) in cases {
            let err = parse(&text, "plant.toml").expect_err(key);
            assert_eq!(err.file, "plant.toml", "{err}");
            assert!(err.key.starts_with(key), "want key {key}, got {err}");
            assert!(err.reason.contains(reason), "want reason with {reason:?}, got {err}");
        }
    }
}
