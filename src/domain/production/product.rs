//! Products: what a line makes and how fast it could make it. The plant model's products
//! (per machine, by PLC product code) are the defaults; products made at run time are
//! stored and may give each machine its own ideal cycle time.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::plant::PlantModel;

/// Longest product code.
pub const MAX_CODE_CHARS: usize = 64;
/// Longest product name.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest ideal cycle time accepted (one day), ms.
pub const MAX_CYCLE_MS: i64 = 86_400_000;

/// Where a product is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductSource {
    /// The plant model file (read-only over the API).
    PlantModel,
    /// Made at run time and stored.
    Stored,
}

/// A product and its ideal cycle times.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProductDef {
    /// Code; for plant-model products, the PLC product code.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Ideal cycle time on a machine without its own, ms (`None` for plant-model
    /// products, which are defined per machine).
    pub ideal_cycle_ms: Option<i64>,
    /// Ideal cycle time per machine id, ms.
    pub machine_cycles: BTreeMap<String, i64>,
    /// Where it is defined.
    pub source: ProductSource,
}

impl ProductDef {
    /// The ideal cycle time of one part of this product on `machine`, ms: the product's
    /// own time for that machine, else its default, else the machine's.
    pub fn ideal_cycle_on(&self, plant: &PlantModel, machine: usize) -> i64 {
        let m = &plant.machines[machine];
        self.machine_cycles
            .get(&m.id)
            .copied()
            .or(self.ideal_cycle_ms)
            .unwrap_or(m.ideal_cycle_ms)
    }
}

/// The plant model's products, one per PLC product code, with each machine's time.
pub fn plant_products(plant: &PlantModel) -> Vec<ProductDef> {
    let mut by_code: BTreeMap<i64, ProductDef> = BTreeMap::new();
    for m in &plant.machines {
        for (code, p) in &m.products {
            let def = by_code.entry(*code).or_insert_with(|| ProductDef {
                code: code.to_string(),
                name: p.name.clone(),
                ideal_cycle_ms: None,
                machine_cycles: BTreeMap::new(),
                source: ProductSource::PlantModel,
            });
            def.machine_cycles.insert(m.id.clone(), p.ideal_cycle_ms);
        }
    }
    by_code.into_values().collect()
}

/// Why a product definition is refused: the field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {reason}")]
pub struct ProductError {
    /// The field (`code`, `name`, `ideal_cycle_ms`, `machine_cycles.l1-filler`).
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

fn refuse(field: impl Into<String>, reason: impl Into<String>) -> ProductError {
    ProductError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Checks a stored product: a code of letters, digits, `.`, `_` or `-`; a name; cycle
/// times above zero and at most a day; per-machine times only for machines of the plant.
/// A code the plant model already defines is refused (the plant model's stays).
pub fn validate(
    plant: &PlantModel,
    code: &str,
    name: &str,
    ideal_cycle_ms: i64,
    machine_cycles: &BTreeMap<String, i64>,
) -> Result<(), ProductError> {
    if code.is_empty() || code.chars().count() > MAX_CODE_CHARS {
        return Err(refuse("code", format!("must have 1 to {MAX_CODE_CHARS} characters")));
    }
    if !code.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c)) {
        return Err(refuse("code", "may hold only letters, digits, `.`, `_` and `-`"));
    }
    if plant_products(plant).iter().any(|p| p.code == code) {
        return Err(refuse(
            "code",
            format!("`{code}` is a product of the plant model; change it there"),
        ));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(refuse("name", format!("must have 1 to {MAX_NAME_CHARS} characters")));
    }
    let check = |field: &str, ms: i64| {
        if ms <= 0 || ms > MAX_CYCLE_MS {
            Err(refuse(field, "must be longer than 0 and at most 24h"))
        } else {
            Ok(())
        }
    };
    check("ideal_cycle_ms", ideal_cycle_ms)?;
    for (machine, ms) in machine_cycles {
        let field = format!("machine_cycles.{machine}");
        if plant.machine(machine).is_none() {
            return Err(refuse(field, "is not a machine of this plant"));
        }
        check(&field, *ms)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plant() -> PlantModel {
        crate::config::parse_plant(include_str!("../../../config/plant.toml"), "plant.toml").unwrap()
    }

    #[test]
    fn plant_model_products_are_grouped_by_plc_code() {
        let products = plant_products(&plant());
        let still = products.iter().find(|p| p.code == "1").unwrap();
        assert_eq!(still.name, "0.5 l still");
        assert_eq!(still.machine_cycles.get("l1-filler"), Some(&1000));
        assert_eq!(still.source, ProductSource::PlantModel);
    }

    #[test]
    fn a_machines_ideal_cycle_comes_from_the_product_then_the_machine() {
        let plant = plant();
        let (filler, _) = plant.machine("l1-filler").unwrap();
        let (capper, _) = plant.machine("l1-capper").unwrap();
        let mut p = ProductDef {
            code: "cola-2l".into(),
            name: "Cola 2 l".into(),
            ideal_cycle_ms: Some(2000),
            machine_cycles: BTreeMap::from([("l1-filler".to_owned(), 2500)]),
            source: ProductSource::Stored,
        };
        // (machine, expected ms): the filler has its own time, the capper takes the default
        assert_eq!(p.ideal_cycle_on(&plant, filler), 2500);
        assert_eq!(p.ideal_cycle_on(&plant, capper), 2000);
        // without a default, the machine's own ideal cycle (capper: 0.9 s)
        p.ideal_cycle_ms = None;
        assert_eq!(p.ideal_cycle_on(&plant, capper), 900);
    }

    #[test]
    fn bad_products_name_the_field() {
        let plant = plant();
        let none = BTreeMap::new();
        type Case<'a> = (&'a str, &'a str, i64, BTreeMap<String, i64>, &'a str);
        let cases: [Case; 6] = [
            ("", "x", 1000, none.clone(), "code"),
            ("a b", "x", 1000, none.clone(), "code"),
            ("1", "x", 1000, none.clone(), "code"),
            ("ok", " ", 1000, none.clone(), "name"),
            ("ok", "x", 0, none.clone(), "ideal_cycle_ms"),
            (
                "ok",
                "x",
                1000,
                BTreeMap::from([("nope".to_owned(), 1000)]),
                "machine_cycles.nope",
            ),
        ];
        for (code, name, ms, cycles, field) in cases {
            let err = validate(&plant, code, name, ms, &cycles).unwrap_err();
            assert_eq!(err.field, field, "{code:?} {name:?} {ms}");
        }
        assert!(validate(&plant, "cola-2l", "Cola 2 l", 2000, &none).is_ok());
    }
}
