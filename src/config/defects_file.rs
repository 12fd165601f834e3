//! Defect trees in the plant model: a plant-wide `[defects]` table, and per line a
//! `defects` table that replaces it for that line. A line with neither gets the built-in
//! tree ([`DefectTree::standard`]).

use super::ConfigError;
use crate::domain::production::defects::{DefectTree, DefectTreeError};

/// The tree of one line: its own, else the plant's, else the built-in one; `key` is
/// where the line's own tree is (`lines[0].defects`).
pub(super) fn line_tree(
    file: &str,
    key: &str,
    own: Option<DefectTree>,
    plant: Option<&DefectTree>,
) -> Result<DefectTree, ConfigError> {
    match own {
        Some(tree) => checked(file, key, tree),
        None => Ok(plant.cloned().unwrap_or_else(DefectTree::standard)),
    }
}

/// The plant-wide tree, checked.
pub(super) fn plant_tree(file: &str, tree: Option<DefectTree>) -> Result<Option<DefectTree>, ConfigError> {
    tree.map(|t| checked(file, "defects", t)).transpose()
}

fn checked(file: &str, key: &str, tree: DefectTree) -> Result<DefectTree, ConfigError> {
    let Err(e) = tree.validate() else { return Ok(tree) };
    let key = match &e {
        DefectTreeError::Empty => key.to_owned(),
        DefectTreeError::BadName { category, .. } | DefectTreeError::Duplicate { category, .. } => {
            format!("{key}.{category}")
        }
    };
    Err(ConfigError::new(file, key, e.to_string()))
}

#[cfg(test)]
mod tests {
    use crate::config::parse_plant;
    use crate::domain::production::defects::DefectTree;

    const PLANT: &str = r#"
        timezone = "UTC"
        [[lines]]
        id = "l1"
        name = "Line 1"
        [lines.defects]
        fill = ["underfill", "overfill"]
        other = []
        [[lines.machines]]
        id = "m1"
        name = "Filler"
        ideal_cycle_time = "1s"
        tags = { running = "M1.Run", good = { tag = "M1.Good" } }
        [[lines]]
        id = "l2"
        name = "Line 2"
        [[lines.machines]]
        id = "m2"
        name = "Saw"
        ideal_cycle_time = "1s"
        tags = { running = "M2.Run", good = { tag = "M2.Good" } }
    "#;

    #[test]
    fn a_line_has_its_own_tree_else_the_plants_else_the_standard_one() {
        let plant = parse_plant(PLANT, "plant.toml").unwrap();
        assert_eq!(
            plant.lines[0].defects.codes(),
            ["fill", "fill/underfill", "fill/overfill", "other"]
        );
        assert_eq!(plant.lines[1].defects, DefectTree::standard());
        let with_default = format!("{PLANT}\n[defects]\nsurface = [\"burr\"]\n");
        let plant = parse_plant(&with_default, "plant.toml").unwrap();
        assert_eq!(plant.lines[0].defects.codes()[0], "fill");
        assert_eq!(plant.lines[1].defects.codes(), ["surface", "surface/burr"]);
    }

    #[test]
    fn a_bad_tree_is_refused_naming_file_key_and_reason() {
        // (plant text, key, part of the reason)
        let table = [
            (
                PLANT.replace("other = []", "\"fill/x\" = []"),
                "lines[0].defects.fill/x",
                "without `/`",
            ),
            (
                PLANT.replace("fill = [\"underfill\", \"overfill\"]\n        other = []", ""),
                "lines[0].defects",
                "at least one",
            ),
            (
                PLANT.replace("\"overfill\"", "\"underfill\""),
                "lines[0].defects.fill",
                "listed twice",
            ),
            (
                format!("{PLANT}\n[defects]\nsurface = [\"\"]\n"),
                "defects.surface",
                "non-empty",
            ),
            (format!("{PLANT}\n[defects]\nsurface = 3\n"), "defects.surface", ""),
        ];
        for (text, key, reason) in table {
            let err = parse_plant(&text, "plant.toml").expect_err(key);
            assert_eq!(err.file, "plant.toml", "{err}");
            assert!(err.key.starts_with(key), "want key {key}, got {err}");
            assert!(err.reason.contains(reason), "want reason with {reason:?}, got {err}");
        }
    }
}
