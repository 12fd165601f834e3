//! The defect tree of a line: the codes operators log manual rejects with, configured per
//! line in the plant model the way `[andon.reasons]` configures downtime reasons.
//!
//! A code is a category (`fill`) or `category/defect` (`fill/underfill`), exactly as a
//! downtime reason code is, so the same rules apply to both trees.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::andon::ReasonTree;

/// Defect codes of one line: categories with optional specific defects. Serde: a map
/// category → list of defects, e.g. `{ fill = ["underfill", "overfill"], other = [] }`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(transparent)]
pub struct DefectTree(pub ReasonTree);

/// Why a configured defect tree cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DefectTreeError {
    /// No category at all: nothing could be logged.
    #[error("needs at least one defect category")]
    Empty,
    /// A name that could never be chosen (`/` separates category and defect).
    #[error("defect names must be non-empty and without `/` (`{name}`)")]
    BadName {
        /// The category it is in.
        category: String,
        /// The name.
        name: String,
    },
    /// The same defect twice in one category.
    #[error("`{name}` is listed twice")]
    Duplicate {
        /// The category it is in.
        category: String,
        /// The name.
        name: String,
    },
}

impl DefectTree {
    /// The tree a line gets when the plant model gives none.
    pub fn standard() -> Self {
        let tree: [(&str, &[&str]); 6] = [
            ("dimension", &["oversize", "undersize"]),
            ("surface", &["scratch", "dent", "stain"]),
            ("assembly", &["missing_part", "misaligned"]),
            ("labelling", &["missing", "wrong", "unreadable"]),
            ("packaging", &["damaged", "underfilled"]),
            ("other", &[]),
        ];
        DefectTree(ReasonTree(
            tree.into_iter()
                .map(|(category, subs)| (category.to_owned(), subs.iter().map(|s| (*s).to_owned()).collect()))
                .collect(),
        ))
    }

    /// The categories and their defects.
    pub fn categories(&self) -> &BTreeMap<String, Vec<String>> {
        &(self.0).0
    }

    /// Whether `code` is a category or `category/defect` of this tree (exact match).
    pub fn contains(&self, code: &str) -> bool {
        self.0.contains(code)
    }

    /// Every valid code: each category (sorted) followed by its `category/defect` codes.
    pub fn codes(&self) -> Vec<String> {
        self.0.codes()
    }

    /// Checks that every code of the tree can be written and chosen.
    pub fn validate(&self) -> Result<(), DefectTreeError> {
        if self.categories().is_empty() {
            return Err(DefectTreeError::Empty);
        }
        for (category, defects) in self.categories() {
            let bad = |name: &String| name.trim().is_empty() || name.contains('/') || name.trim() != name;
            if let Some(name) = std::iter::once(category).chain(defects).find(|n| bad(n)) {
                return Err(DefectTreeError::BadName {
                    category: category.clone(),
                    name: name.clone(),
                });
            }
            for (i, name) in defects.iter().enumerate() {
                if defects[..i].contains(name) {
                    return Err(DefectTreeError::Duplicate {
                        category: category.clone(),
                        name: name.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(json: &str) -> DefectTree {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn codes_are_categories_and_category_slash_defect() {
        let t = tree(r#"{"fill": ["underfill", "overfill"], "other": []}"#);
        assert_eq!(t.codes(), ["fill", "fill/underfill", "fill/overfill", "other"]);
        // (code, known)
        let table = [
            ("fill", true),
            ("fill/underfill", true),
            ("other", true),
            ("fill/", false),
            ("fill/cap", false),
            ("Fill", false),
            ("other/x", false),
            ("fill/underfill/x", false),
            ("", false),
        ];
        for (code, known) in table {
            assert_eq!(t.contains(code), known, "{code:?}");
        }
    }

    #[test]
    fn a_tree_that_cannot_be_used_says_why() {
        // (tree, error)
        let table = [
            (r#"{}"#, Some(DefectTreeError::Empty)),
            (
                r#"{"fill": ["under/fill"]}"#,
                Some(DefectTreeError::BadName {
                    category: "fill".into(),
                    name: "under/fill".into(),
                }),
            ),
            (
                r#"{"fi/ll": []}"#,
                Some(DefectTreeError::BadName {
                    category: "fi/ll".into(),
                    name: "fi/ll".into(),
                }),
            ),
            (
                r#"{"fill": [""]}"#,
                Some(DefectTreeError::BadName {
                    category: "fill".into(),
                    name: "".into(),
                }),
            ),
            (
                r#"{"fill": [" cap"]}"#,
                Some(DefectTreeError::BadName {
                    category: "fill".into(),
                    name: " cap".into(),
                }),
            ),
            (
                r#"{"fill": ["cap", "cap"]}"#,
                Some(DefectTreeError::Duplicate {
                    category: "fill".into(),
                    name: "cap".into(),
                }),
            ),
            (r#"{"fill": ["cap"], "other": []}"#, None),
        ];
        for (json, want) in table {
            assert_eq!(tree(json).validate().err(), want, "{json}");
        }
        assert_eq!(DefectTree::standard().validate(), Ok(()));
    }
}
