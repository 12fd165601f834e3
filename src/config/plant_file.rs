//! The plant model file (`config/plant.toml`): lines, machines, tag maps, shifts.
//!
//! Parsed into plain serde structs, then validated into the domain's [`PlantModel`]; every
//! rule that fails names its key.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Toml};
use serde::Deserialize;

use super::ConfigError;
use super::andon_file::AndonFile;
use super::defects_file;
use super::reason::closest;
use super::source::SourceMap;
use crate::domain::counter::{CounterMode, CounterWidth};
use crate::domain::downtime::IdleCause;
use crate::domain::machine_state::MachineState;
use crate::domain::plant::{
    AutoRaiseScope, CounterDef, CounterRole, DEFAULT_BUFFER_CAPACITY, LineModel, MachineModel, PlantModel, Product,
    SignalDef, SignalKind,
};
use crate::domain::production::defects::DefectTree;
use crate::domain::shift::{DEFAULT_MAX_SHIFT_MS, ShiftCalendar, ShiftDef};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlantFile {
    timezone: String,
    #[serde(with = "humantime_serde", default = "default_micro_stop")]
    microstop_threshold: Duration,
    #[serde(with = "humantime_serde", default = "default_stale_after")]
    stale_after: Duration,
    /// The longest shift accepted (wall clock); longer ones are taken for typos.
    #[serde(with = "humantime_serde", default = "default_max_shift_length")]
    max_shift_length: Duration,
    /// Default state code map for `state` tags without their own.
    #[serde(default)]
    state_codes: Option<BTreeMap<String, MachineState>>,
    /// Default idle code map (fault code of an idle machine → starved, blocked) for
    /// machines without their own.
    #[serde(default)]
    idle_codes: Option<BTreeMap<String, IdleCause>>,
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

fn default_max_shift_length() -> Duration {
    Duration::from_millis(DEFAULT_MAX_SHIFT_MS.unsigned_abs())
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
    /// Parts the simulator holds between two consecutive machines.
    #[serde(default)]
    buffer_capacity: Option<u32>,
    /// On a central: the edge that runs this line and forwards its records (docs/edge.md).
    #[serde(default)]
    edge: Option<String>,
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
    /// This machine's idle codes (replaces the plant's `[idle_codes]`).
    #[serde(default)]
    idle_codes: Option<BTreeMap<String, IdleCause>>,
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

/// The key under `tags` a signal is configured with.
fn tag_key(kind: &SignalKind) -> &'static str {
    match kind {
        SignalKind::StateCode(_) => "state",
        SignalKind::RunningBit => "running",
        SignalKind::FaultBit => "fault",
        SignalKind::Counter(c) => match c.role {
            CounterRole::Good => "good",
            CounterRole::Reject => "reject",
            CounterRole::Total => "total",
        },
        SignalKind::FaultCode => "fault_code",
        SignalKind::ProductCode => "product",
    }
}

fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Parses and validates a plant model; `file` names it in errors, which give the line
/// and machine of the key where they can.
pub fn parse(text: &str, file: &str) -> Result<PlantModel, ConfigError> {
    let source = SourceMap::parse(text).map_err(|e| ConfigError::syntax(file, e))?;
    let raw: PlantFile = Figment::from(Toml::string(text))
        .extract()
        .map_err(|e| ConfigError::from_figment(file, e, Some(&source)))?;
    Validator { file, source: &source }
        .plant(raw)
        .map_err(|e| e.located(&source))
}

/// The plant-wide code maps a machine gets unless it has its own.
struct DefaultCodes {
    state: HashMap<i64, MachineState>,
    idle: HashMap<i64, IdleCause>,
}

/// Plant-wide timing every machine gets.
#[derive(Debug, Clone, Copy)]
struct Timing {
    micro_stop_threshold_ms: i64,
    stale_after_ms: i64,
}

struct Validator<'a> {
    file: &'a str,
    /// The file's layout, for the second place a message names.
    source: &'a SourceMap,
}

impl Validator<'_> {
    fn err<T>(&self, key: impl Into<String>, reason: impl Into<String>) -> Result<T, ConfigError> {
        Err(ConfigError::new(self.file, key, reason))
    }

    /// `key (machine l1-capper, plant.toml:58)`: a key and where it is.
    fn place(&self, key: &str) -> String {
        let at = ConfigError::new(self.file, key, "").located(self.source);
        format!("{key}{}", at.whereabouts())
    }

    /// Checks an id's form and that no line or machine has it already.
    fn unique_id(&self, ids: &mut HashMap<String, String>, id: &str, key: String) -> Result<(), ConfigError> {
        if !is_valid_id(id) {
            return self.err(key, "ids are 1-64 characters of A-Z a-z 0-9 - _ .");
        }
        if let Some(first) = ids.get(id) {
            return self.err(
                key,
                format!("id {id:?} is used twice: at {}, and here", self.place(first)),
            );
        }
        ids.insert(id.to_owned(), key);
        Ok(())
    }

    /// A map keyed by PLC codes written as TOML keys; `what` names the codes in errors.
    fn code_map<T: Copy>(
        &self,
        key: &str,
        what: &str,
        map: &BTreeMap<String, T>,
    ) -> Result<HashMap<i64, T>, ConfigError> {
        map.iter()
            .map(|(code, value)| match i64::from_str(code) {
                Ok(c) => Ok((c, *value)),
                Err(_) => self.err(format!("{key}.{code}"), format!("{what} must be whole numbers")),
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
        let max_shift = raw.max_shift_length;
        if max_shift.is_zero() || max_shift > Duration::from_secs(24 * 3600) {
            return self.err(
                "max_shift_length",
                format!(
                    "must be longer than 0 and at most 24h (a shift is shorter than a day), not {}",
                    humantime::format_duration(max_shift)
                ),
            );
        }
        let max_shift_ms = i64::try_from(max_shift.as_millis()).unwrap_or(i64::MAX);
        let calendar = match ShiftCalendar::new(tz, std::mem::take(&mut raw.shifts), max_shift_ms) {
            Ok(c) => c,
            Err(e) => return self.err(e.key(), e.to_string()),
        };
        if raw.stale_after.is_zero() {
            return self.err("stale_after", "must be longer than 0");
        }
        let default_codes = match &raw.state_codes {
            Some(map) => self.code_map("state_codes", "state codes", map)?,
            None => standard_state_codes(),
        };
        let codes = DefaultCodes {
            state: default_codes,
            idle: match &raw.idle_codes {
                Some(map) => self.code_map("idle_codes", "idle codes", map)?,
                None => HashMap::new(),
            },
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
        // Where each id and tag was first given, to name both places of a duplicate.
        let mut ids: HashMap<String, String> = HashMap::new();
        let mut tag_keys: HashMap<String, String> = HashMap::new();
        let mut tags = HashMap::new();
        let mut lines = Vec::new();
        let mut machines: Vec<MachineModel> = Vec::new();
        for (li, line) in std::mem::take(&mut raw.lines).into_iter().enumerate() {
            let lkey = format!("lines[{li}]");
            self.unique_id(&mut ids, &line.id, format!("{lkey}.id"))?;
            if line.machines.is_empty() {
                return self.err(format!("{lkey}.machines"), "a line needs at least one machine");
            }
            let mut members = Vec::new();
            for (mi, m) in line.machines.into_iter().enumerate() {
                let mkey = format!("{lkey}.machines[{mi}]");
                self.unique_id(&mut ids, &m.id, format!("{mkey}.id"))?;
                let idx = machines.len();
                let model = self.machine(&mkey, m, li, &line.id, &codes, timing)?;
                for (si, s) in model.signals.iter().enumerate() {
                    let here = format!("{mkey}.tags.{}", tag_key(&s.kind));
                    if let Some(first) = tag_keys.get(&s.tag) {
                        return self.err(
                            here,
                            format!("tag {:?} is used twice: at {}, and here", s.tag, self.place(first)),
                        );
                    }
                    tag_keys.insert(s.tag.clone(), here);
                    tags.insert(s.tag.clone(), (idx, si));
                }
                machines.push(model);
                members.push(idx);
            }
            let pick = |key: &str, wanted: &Option<String>| -> Result<usize, ConfigError> {
                match wanted {
                    None => Ok(*members.last().unwrap_or(&0)),
                    Some(id) => members.iter().copied().find(|&i| machines[i].id == *id).ok_or_else(|| {
                        let known: Vec<&str> = members.iter().map(|&i| machines[i].id.as_str()).collect();
                        let hint = match closest(id, &known) {
                            Some(close) => format!(", did you mean `{close}`?"),
                            None => format!(", which has {}", known.join(", ")),
                        };
                        ConfigError::new(
                            self.file,
                            format!("{lkey}.{key}"),
                            format!("{id:?} is not a machine of this line{hint}"),
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
            let buffer_capacity = line.buffer_capacity.unwrap_or(DEFAULT_BUFFER_CAPACITY);
            if buffer_capacity == 0 {
                return self.err(
                    format!("{lkey}.buffer_capacity"),
                    "must be at least 1 (a machine only works with room for its part)",
                );
            }
            lines.push(LineModel {
                id: line.id,
                name: line.name,
                machines: members,
                output,
                constraint,
                defects,
                buffer_capacity,
                edge: line.edge,
            });
        }
        let mut andon = raw.andon.validate(self.file, &lines, &machines)?;
        // An edge's lines raise their own tickets on the edge, which forwards them.
        andon.auto_raise.retain(|r| {
            let line = match r.scope {
                AutoRaiseScope::Line(l) => l,
                AutoRaiseScope::Machine(m) => machines[m].line,
            };
            lines[line].edge.is_none()
        });
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
        codes: &DefaultCodes,
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
        let idle_codes = match &m.idle_codes {
            Some(map) => self.code_map(&format!("{key}.idle_codes"), "idle codes", map)?,
            None => codes.idle.clone(),
        };
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
                Some(map) => self.code_map(&format!("{key}.tags.state.map"), "state codes", map)?,
                None => codes.state.clone(),
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
            return self.err(format!("{key}.tags.{}", tag_key(&empty.kind)), "the tag name is empty");
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
            idle_codes,
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
        assert_eq!(plant.lines[0].buffer_capacity, DEFAULT_BUFFER_CAPACITY);
        assert!(plant.machines[0].idle_codes.is_empty(), "no idle codes unless given");
    }

    #[test]
    fn idle_codes_come_from_the_plant_unless_a_machine_has_its_own() {
        let text = with(
            "[[lines]]",
            "[idle_codes]\n90 = \"starved\"\n91 = \"blocked\"\n[[lines]]",
        )
        .replacen("fault_codes = { 101 = \"jam\" }", "idle_codes = { 7 = \"blocked\" }", 1)
        .replacen("name = \"Line 1\"", "name = \"Line 1\"\nbuffer_capacity = 12", 1);
        let plant = parse(&text, "plant.toml").unwrap_or_else(|e| panic!("{e}"));
        // (machine, code, cause): m1 has its own map, m2 takes the plant's
        let table = [
            (0, 7, Some(IdleCause::Blocked)),
            (0, 90, None),
            (1, 90, Some(IdleCause::Starved)),
            (1, 91, Some(IdleCause::Blocked)),
            (1, 7, None),
        ];
        for (machine, code, want) in table {
            assert_eq!(
                plant.machines[machine].idle_codes.get(&code).copied(),
                want,
                "m{machine} {code}"
            );
        }
        assert_eq!(plant.lines[0].buffer_capacity, 12);
    }

    /// GOOD with `from` replaced by `to` (which must be there).
    fn with(from: &str, to: &str) -> String {
        assert!(GOOD.contains(from), "{from}");
        GOOD.replacen(from, to, 1)
    }

    #[test]
    fn errors_name_the_file_the_key_the_reason_the_machine_and_the_line() {
        // Lines count from the empty first line of GOOD: timezone is on 2, the shift's
        // end on 6, [[lines]] on 7, m1 from 10 (tags on 15), m2 from 16 (tags on 20).
        let cases = [
            (
                with("\"UTC\"", "\"Mars/Olympus\""),
                "plant.toml: timezone: `Mars/Olympus` is not an IANA time zone (e.g. Europe/Berlin) (plant.toml:2)",
            ),
            (
                with("ideal_cycle_time = \"1s\"", "ideal_cycle_time = \"0s\""),
                "plant.toml: lines[0].machines[0].ideal_cycle_time: must be longer than 0 (machine m1, plant.toml:13)",
            ),
            (
                with("ideal_cycle_time = \"1s\"", "ideal_cycle_time = \"fast\""),
                "plant.toml: lines[0].machines[0].ideal_cycle_time: expected a duration, found \"fast\" \
                 (machine m1, plant.toml:13)",
            ),
            // An unknown key suggests the closest the table takes.
            (
                with("ideal_cycle_time = \"500ms\"", "ideal_cycle_tme = \"500ms\""),
                "plant.toml: lines[0].machines[1].ideal_cycle_tme: unknown key, did you mean \
                 `ideal_cycle_time`? (machine m2, plant.toml:19)",
            ),
            // A missing key: the line of the table it belongs in.
            (
                with("name = \"Packer\"", ""),
                "plant.toml: lines[0].machines[1].name: required key is missing (machine m2, plant.toml:16)",
            ),
            (
                with("id = \"m2\"", "id = \"m1\""),
                "plant.toml: lines[0].machines[1].id: id \"m1\" is used twice: at lines[0].machines[0].id \
                 (plant.toml:11), and here (plant.toml:17)",
            ),
            // A duplicated tag names both places.
            (
                with("\"M2.Total\"", "\"M1.Good\""),
                "plant.toml: lines[0].machines[1].tags.total: tag \"M1.Good\" is used twice: at \
                 lines[0].machines[0].tags.good (machine m1, plant.toml:15), and here (machine m2, plant.toml:20)",
            ),
            (
                with("running = \"M2.Run\"", "running = \" \""),
                "plant.toml: lines[0].machines[1].tags.running: the tag name is empty (machine m2, plant.toml:20)",
            ),
            (
                with("name = \"Line 1\"", "name = \"Line 1\"\noutput_machine = \"nope\""),
                "plant.toml: lines[0].output_machine: \"nope\" is not a machine of this line, which has m1, m2 \
                 (line l1, plant.toml:10)",
            ),
            (
                with("name = \"Line 1\"", "name = \"Line 1\"\nconstraint_machine = \"m3\""),
                "plant.toml: lines[0].constraint_machine: \"m3\" is not a machine of this line, did you mean \
                 `m1`? (line l1, plant.toml:10)",
            ),
            (
                with("good = { tag = \"M1.Good\", width = 32 }, ", ""),
                "plant.toml: lines[0].machines[0].tags: needs a `good` or a `total` counter (machine m1, plant.toml:15)",
            ),
            (
                with("width = 32", "width = 12"),
                "plant.toml: lines[0].machines[0].tags.good.width: counter width must be 16 or 32, not 12 \
                 (machine m1, plant.toml:15)",
            ),
            (
                with("id = \"l1\"", "id = \"l 1\""),
                "plant.toml: lines[0].id: ids are 1-64 characters of A-Z a-z 0-9 - _ . (plant.toml:8)",
            ),
            (
                with(
                    "{ tag = \"M1.State\" }",
                    "{ tag = \"M1.State\", map = { 1 = \"runing\" } }",
                ),
                "plant.toml: lines[0].machines[0].tags.state.map.1: unknown value \"runing\", did you mean \
                 `running`? (machine m1, plant.toml:15)",
            ),
            // Shifts: the end as written and as read; the maximum.
            (
                with("end = \"14:00\"", "end = \"06:00\""),
                "plant.toml: shifts[0].end: shift \"day\" starts and ends at 06:00, so it has no length (plant.toml:6)",
            ),
            (
                with("end = \"14:00\"", "end = \"03:30\""),
                "plant.toml: shifts[0].end: shift \"day\" runs 06:00 → 03:30, read as 21 h 30 min crossing \
                 midnight; longest allowed is 12 h (max_shift_length): check the times, or if it really ends \
                 the next day set crosses_midnight = true and raise max_shift_length (plant.toml:6)",
            ),
            (
                with("timezone = \"UTC\"", "timezone = \"UTC\"\nmax_shift_length = \"4h\""),
                "plant.toml: shifts[0].end: shift \"day\" runs 06:00 → 14:00, read as 8 h; longest allowed is \
                 4 h (max_shift_length) (plant.toml:7)",
            ),
            (
                with("timezone = \"UTC\"", "timezone = \"UTC\"\nmax_shift_length = \"25h\""),
                "plant.toml: max_shift_length: must be longer than 0 and at most 24h (a shift is shorter than a \
                 day), not 1day 1h (plant.toml:3)",
            ),
            (
                with(
                    "end = \"14:00\"",
                    "end = \"14:00\"\n[[shifts]]\nname = \"late\"\nstart = \"13:00\"\nend = \"21:00\"",
                ),
                "plant.toml: shifts[1]: shift \"day\" (shifts[0], 06:00 → 14:00) and shift \"late\" (shifts[1], \
                 13:00 → 21:00) overlap on Monday from 13:00 to 14:00 (plant.toml:7)",
            ),
            (
                with("start = \"06:00\"", "start = \"6am\""),
                "plant.toml: shifts[0].start: expected a time of day like 06:00 or 06:00:30, found \"6am\" \
                 (plant.toml:5)",
            ),
            (
                with("[[lines]]", "[idle_codes]\n90 = \"starvd\"\n[[lines]]"),
                "plant.toml: idle_codes.90: unknown value \"starvd\", did you mean `starved`? (plant.toml:8)",
            ),
            (
                with("fault_codes = { 101 = \"jam\" }", "idle_codes = { x = \"blocked\" }"),
                "plant.toml: lines[0].machines[0].idle_codes.x: idle codes must be whole numbers (machine m1, \
                 plant.toml:14)",
            ),
            (
                with("name = \"Line 1\"", "name = \"Line 1\"\nbuffer_capacity = 0"),
                "plant.toml: lines[0].buffer_capacity: must be at least 1 (a machine only works with room for \
                 its part) (line l1, plant.toml:10)",
            ),
            (
                format!("{GOOD}\n[andon.reasons]\n\"mechanical/x\" = []\n"),
                "plant.toml: andon.reasons.mechanical/x: reason names must be non-empty and without `/` \
                 (`mechanical/x`) (plant.toml:23)",
            ),
            (
                format!("{GOOD}\n[[andon.auto_raise]]\nline = \"nope\"\nafter = \"5m\"\n"),
                "plant.toml: andon.auto_raise[0].line: no line `nope` (plant.toml:23)",
            ),
        ];
        for (text, want) in cases {
            let err = parse(&text, "plant.toml").expect_err(want);
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn a_file_that_is_not_toml_is_refused_at_its_line() {
        let err = parse(&with("[[lines]]", "[[lines]"), "plant.toml").expect_err("syntax");
        assert_eq!((err.key.as_str(), err.line), ("(toml syntax)", Some(7)), "{err}");
    }

    #[test]
    fn a_night_shift_that_says_so_is_accepted() {
        let night = "[[shifts]]\nname = \"night\"\nstart = \"22:00\"\nend = \"06:00\"\ncrosses_midnight = true\n";
        let text = with("[[lines]]", &format!("{night}[[lines]]"));
        let plant = parse(&text, "plant.toml").unwrap_or_else(|e| panic!("{e}"));
        assert!(plant.calendar.shift_at(0).is_some_and(|s| s.name == "night"));
        let unsaid = text.replace("crosses_midnight = true\n", "");
        let err = parse(&unsaid, "plant.toml").expect_err("unsaid");
        assert_eq!(
            err.to_string(),
            "plant.toml: shifts[1].end: shift \"night\" runs 22:00 → 06:00, read as 8 h crossing midnight; \
             if it really ends the next day set crosses_midnight = true (plant.toml:10)"
        );
    }

    #[test]
    fn the_shipped_plant_loads() {
        let plant = parse(include_str!("../../config/plant.toml"), "plant.toml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((plant.lines.len(), plant.machines.len()), (2, 8));
    }
}
