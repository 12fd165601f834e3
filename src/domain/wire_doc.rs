//! The protocol 2 form of a pushed entity: no `null` members, a line's machines keyed by
//! id (so a change to one machine patches only that machine), OEE ratios to 0.01 points (a
//! ratio's further digits change at every update of a running machine and no screen shows
//! them), and only the OEE windows a subscriber asked for.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::merge_patch::strip_nulls;
use super::window::WindowName;

/// A set of OEE windows, one bit per [`WindowName::ALL`] position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WindowMask(u8);

impl WindowMask {
    /// Every window.
    pub const ALL: WindowMask = WindowMask((1 << WindowName::ALL.len()) - 1);

    /// The windows named (wire names such as `shift` or `15m`); an empty list is all.
    pub fn parse(names: &[String]) -> Result<WindowMask, String> {
        if names.is_empty() {
            return Ok(WindowMask::ALL);
        }
        let mut bits = 0u8;
        for name in names {
            let pos = WindowName::ALL.iter().position(|w| w.as_str() == name).ok_or_else(|| {
                let known: Vec<&str> = WindowName::ALL.iter().map(|w| w.as_str()).collect();
                format!("unknown window `{name}`: use {}", known.join(", "))
            })?;
            bits |= 1 << pos;
        }
        Ok(WindowMask(bits))
    }

    /// Index of this set among all sets (0‥32), for per-set tables.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    fn keeps(self, window: &str) -> bool {
        WindowName::ALL
            .iter()
            .position(|w| w.as_str() == window)
            .is_none_or(|pos| self.0 & (1 << pos) != 0)
    }
}

/// Number of distinct [`WindowMask`] values.
pub const WINDOW_MASKS: usize = 1 << WindowName::ALL.len();

/// The OEE ratios of a window's figures (fractions, shown as percentages).
const RATIOS: [&str; 4] = ["availability", "performance", "quality", "oee"];

/// Decimal places a ratio keeps: 0.01 points.
const RATIO_PLACES: i32 = 4;

/// `x` cut (toward zero) to [`RATIO_PLACES`] decimals. Cut, not rounded: a screen rounding
/// the cut value to 0.1 points shows the digit it would show for the exact one (rounding
/// twice could carry 0.12346 → 0.1235 → 12.4 %, where the exact value shows 12.3 %).
fn cut_ratio(x: f64) -> f64 {
    let scale = 10f64.powi(RATIO_PLACES);
    let n = x * scale;
    // `x × scale` can land a hair under the whole number `x` stands for (0.29 × 10⁴ is
    // 2899.9999…): that is the number, not one below it.
    let whole = if (n - n.round()).abs() < 1e-7 {
        n.round()
    } else {
        n.trunc()
    };
    let cut = whole / scale;
    // A cut ending in 5 sits on a 0.1-point rounding boundary, where the double nearest to
    // it (0.5035 is 0.50349999…) would round down on a screen while the exact value above
    // it rounds up: such a cut goes out as the next double up.
    if whole % 10.0 == 5.0 && x > cut {
        cut.next_up()
    } else {
        cut
    }
}

fn cut_ratios(entity: &mut Value) {
    let Some(Value::Object(windows)) = entity.get_mut("windows") else {
        return;
    };
    for figures in windows.values_mut() {
        for name in RATIOS {
            if let Some(v) = figures.get_mut(name)
                && let Some(x) = v.as_f64()
            {
                *v = Value::from(cut_ratio(x));
            }
        }
    }
}

/// Turns an entity as the REST API shows it into its protocol 2 form.
pub fn entity_doc(mut value: Value) -> Value {
    strip_nulls(&mut value);
    cut_ratios(&mut value);
    if let Value::Object(map) = &mut value
        && let Some(Value::Array(machines)) = map.get_mut("machines")
    {
        let mut order = Vec::with_capacity(machines.len());
        let mut keyed = Map::new();
        for mut m in machines.drain(..) {
            let id = m.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
            cut_ratios(&mut m);
            order.push(Value::String(id.clone()));
            keyed.insert(id, m);
        }
        map.insert("machines".into(), Value::Object(keyed));
        map.insert("machine_order".into(), Value::Array(order));
    }
    value
}

/// `doc` (an entity or a patch of one) with only the windows in `mask`, at the top level
/// and in each of a line's machines.
pub fn only_windows(doc: &Value, mask: WindowMask) -> Cow<'_, Value> {
    if mask == WindowMask::ALL || !doc.is_object() {
        return Cow::Borrowed(doc);
    }
    let mut out = doc.clone();
    keep_windows(&mut out, mask);
    if let Some(Value::Object(machines)) = out.get_mut("machines") {
        machines.values_mut().for_each(|m| keep_windows(m, mask));
    }
    Cow::Owned(out)
}

fn keep_windows(entity: &mut Value, mask: WindowMask) {
    let Value::Object(map) = entity else { return };
    if let Some(Value::Object(windows)) = map.get_mut("windows") {
        windows.retain(|name, _| mask.keeps(name));
        if windows.is_empty() {
            map.remove("windows");
        }
    }
}

/// Whether a (filtered) patch still carries anything.
pub fn is_empty_patch(patch: &Value) -> bool {
    match patch {
        Value::Object(map) => map.iter().all(|(k, v)| match (k.as_str(), v) {
            ("machines", Value::Object(ms)) => ms.values().all(is_empty_patch),
            (_, Value::Object(inner)) => inner.is_empty(),
            _ => false,
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_line_keys_its_machines_by_id_and_keeps_their_order() {
        let line = json!({"id":"l1","reason":null,"machines":[{"id":"b","reason":null},{"id":"a"}]});
        assert_eq!(
            entity_doc(line),
            json!({"id":"l1","machines":{"b":{"id":"b"},"a":{"id":"a"}},"machine_order":["b","a"]})
        );
    }

    #[test]
    fn ratios_are_cut_to_four_places_and_counts_and_seconds_kept() {
        let machine = json!({"id":"m","windows":{"shift":{
            "availability":0.9873555970905488,"performance":1.0,"quality":0.29,
            "oee":0.12349999,"good":80,"run_s":88.814}}});
        assert_eq!(
            entity_doc(machine),
            json!({"id":"m","windows":{"shift":{
                "availability":0.9873,"performance":1.0,"quality":0.29,
                "oee":0.1234,"good":80,"run_s":88.814}}})
        );
        // cut, never rounded up: the 0.1 % a screen shows is the exact value's
        let table = [
            (0.12346, 0.1234),
            (0.12355, 0.1235),
            (0.0, 0.0),
            (1.0, 1.0),
            (1.23456, 1.2345),
            (0.5629743058526809, 0.5629),
        ];
        // the screens' percentages: web/app.js (Math.round(v × 1000) / 10) and web/i18n
        // (toFixed(1) of v × 100: from the double's exact value, a tie going up)
        let to_fixed = |y: f64| {
            let tenths = y * 10.0;
            if tenths.fract() == 0.5 {
                format!("{:.1}", (tenths.floor() + 1.0) / 10.0)
            } else {
                format!("{y:.1}")
            }
        };
        let shown = |x: f64| ((x * 1000.0).round() / 10.0, to_fixed(x * 100.0));
        for (exact, cut) in table {
            assert!((cut_ratio(exact) - cut).abs() < 1e-12, "{exact}: {}", cut_ratio(exact));
            assert_eq!(shown(cut_ratio(exact)), shown(exact), "{exact}");
        }
        // ratios as the figures make them (parts / parts, ms / ms)
        for den in (1..=3_000i64).step_by(7) {
            for num in 0..=den {
                let exact = num as f64 / den as f64;
                assert_eq!(shown(cut_ratio(exact)), shown(exact), "{num}/{den}");
            }
        }
    }

    #[test]
    fn window_sets_keep_only_their_windows_everywhere() {
        let doc = json!({"windows":{"shift":1,"15m":2},"machines":{"m":{"windows":{"shift":3,"1h":4}}}});
        let shift = WindowMask::parse(&["shift".into()]).unwrap_or(WindowMask::ALL);
        assert_eq!(
            *only_windows(&doc, shift),
            json!({"windows":{"shift":1},"machines":{"m":{"windows":{"shift":3}}}})
        );
        let h1 = WindowMask::parse(&["1h".into()]).unwrap_or(WindowMask::ALL);
        assert_eq!(*only_windows(&doc, h1), json!({"machines":{"m":{"windows":{"1h":4}}}}));
        assert_eq!(*only_windows(&doc, WindowMask::ALL), doc);
        assert_eq!(
            WindowMask::parse(&["week".into()]),
            Err("unknown window `week`: use shift, 15m, 1h, 8h, today".into())
        );
        assert_eq!(WindowMask::parse(&[]), Ok(WindowMask::ALL));
    }

    #[test]
    fn a_patch_that_only_touched_other_windows_is_empty() {
        let table = [
            (json!({}), true),
            (json!({"machines":{"m":{}}}), true),
            (json!({"machines":{"m":{"state":"down"}}}), false),
            (json!({"state":"down"}), false),
            (json!({"reason":null}), false),
        ];
        for (patch, want) in table {
            assert_eq!(is_empty_patch(&patch), want, "{patch}");
        }
    }

    /// Random samples through the shipped plant's real machines: after every step, the
    /// patch of each machine and of its line, applied to the previous protocol 2 document,
    /// gives the next one (for every window set a subscriber may pick).
    #[test]
    fn a_patch_applied_to_the_previous_document_gives_the_next_for_random_samples() {
        use std::sync::Arc;

        use rand::{RngExt, SeedableRng};

        use crate::domain::machine::{Machine, Sample};
        use crate::domain::merge_patch::{apply, diff};
        use crate::domain::plant::SignalKind;
        use crate::domain::snapshot::{line_snapshot, machine_snapshot};
        use crate::domain::tag::TagValue;

        let plant = Arc::new(crate::test_support::demo_plant());
        let masks = [WindowMask::ALL, WindowMask(0b00001), WindowMask(0b10110)];
        for seed in 0..8u64 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut machines: Vec<Machine> = (0..plant.machines.len())
                .map(|i| Machine::new(plant.clone(), i))
                .collect();
            let mut counts = vec![0i64; plant.machines.len()];
            let mut ts = 1_764_316_800_000i64; // 2025-11-28 08:00 UTC
            let doc_of = |v: &dyn erased::Doc| entity_doc(v.value());
            let mut last_machine: Vec<Value> = machines.iter().map(|m| doc_of(&machine_snapshot(&plant, m))).collect();
            let line_doc = |machines: &[Machine], line: usize| {
                let snaps: Vec<_> = plant.lines[line]
                    .machines
                    .iter()
                    .map(|&i| Some(machine_snapshot(&plant, &machines[i])))
                    .collect();
                doc_of(&line_snapshot(&plant, line, &snaps))
            };
            let mut last_line: Vec<Value> = (0..plant.lines.len()).map(|l| line_doc(&machines, l)).collect();
            let mut patched = 0;
            for _ in 0..300 {
                ts += rng.random_range(1..20_000);
                let idx = rng.random_range(0..plant.machines.len());
                let signals = &plant.machines[idx].signals;
                let signal = rng.random_range(0..signals.len());
                let value = match &signals[signal].kind {
                    SignalKind::Counter(_) => {
                        counts[idx] += rng.random_range(0..30);
                        TagValue::Int(counts[idx])
                    }
                    SignalKind::StateCode(map) => {
                        let codes: Vec<i64> = map.keys().copied().collect();
                        TagValue::Int(codes[rng.random_range(0..codes.len())])
                    }
                    SignalKind::RunningBit | SignalKind::FaultBit => TagValue::Bool(rng.random_bool(0.5)),
                    SignalKind::FaultCode | SignalKind::ProductCode => TagValue::Int(rng.random_range(0..3)),
                };
                let mut events = Vec::new();
                machines[idx].apply(Sample { signal, value, ts }, ts, &mut events);
                let line = plant.machines[idx].line;
                let next_machine = doc_of(&machine_snapshot(&plant, &machines[idx]));
                let next_line = line_doc(&machines, line);
                for (prev, next) in [(&last_machine[idx], &next_machine), (&last_line[line], &next_line)] {
                    for mask in masks {
                        let (prev, next) = (only_windows(prev, mask), only_windows(next, mask));
                        let mut got = prev.clone().into_owned();
                        if let Some(patch) = diff(&prev, &next) {
                            patched += 1;
                            apply(&mut got, &only_windows(&patch, mask));
                        }
                        assert_eq!(got, *next, "seed {seed}, machine {idx}, windows {mask:?}");
                    }
                }
                last_machine[idx] = next_machine;
                last_line[line] = next_line;
            }
            assert!(
                patched > 300,
                "seed {seed}: only {patched} patches: the samples changed too little"
            );
        }
    }

    /// Serialisable snapshots as JSON values (the test's one conversion).
    mod erased {
        pub trait Doc {
            fn value(&self) -> serde_json::Value;
        }
        impl<T: serde::Serialize> Doc for T {
            fn value(&self) -> serde_json::Value {
                serde_json::to_value(self).unwrap_or_default()
            }
        }
    }
}
