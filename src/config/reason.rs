//! What serde and figment say about a configuration value, in MS5's words: an unknown
//! key or value suggests the closest known one, and names are quoted once, never nested.

use figment::error::{Actual, Kind};

use super::source::KeyPath;

/// The key a figment error is about (`path` already in the one key syntax) and why.
/// A missing key is named as the key that is missing.
pub(crate) fn describe(kind: &Kind, path: KeyPath) -> (KeyPath, String) {
    match kind {
        Kind::UnknownField(field, expected) => (path, unknown("key", None, field, expected)),
        Kind::UnknownVariant(value, expected) => (path, unknown("value", Some(value), value, expected)),
        Kind::MissingField(name) => (path.key(name), "required key is missing".to_owned()),
        Kind::DuplicateField(name) => (path.key(name), "given twice".to_owned()),
        Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => {
            (path, format!("expected {expected}, found {}", found(actual)))
        }
        Kind::InvalidLength(n, expected) => (path, format!("expected {expected}, found {n} items")),
        Kind::Message(message) => (path, message.clone()),
        other => (path, other.to_string()),
    }
}

/// "unknown key, did you mean `ideal_cycle_time`?", or the keys there are.
fn unknown(what: &str, shown: Option<&String>, wrong: &str, expected: &[&str]) -> String {
    let head = match shown {
        Some(value) => format!("unknown {what} {value:?}"),
        None => format!("unknown {what}"),
    };
    if let Some(close) = closest(wrong, expected) {
        return format!("{head}, did you mean `{close}`?");
    }
    match expected {
        [] => format!("{head}, none are expected here"),
        [one] => format!("{head}, expected `{one}`"),
        many => {
            let list: Vec<String> = many.iter().map(|e| format!("`{e}`")).collect();
            format!("{head}, expected one of {}", list.join(", "))
        }
    }
}

/// The known name closest to `wrong`, if it is close enough to be a typo: at most one
/// edit per three characters (at least one), ignoring case; the first of equals wins.
pub(crate) fn closest<'a>(wrong: &str, known: &[&'a str]) -> Option<&'a str> {
    let wrong = wrong.to_lowercase();
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(&wrong, &k.to_lowercase()), *k))
        .filter(|(d, k)| *d <= (k.chars().count().max(wrong.chars().count()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// A value as the file wrote it.
fn found(actual: &Actual) -> String {
    match actual {
        Actual::Str(s) => format!("{s:?}"),
        Actual::Unsigned(n) => n.to_string(),
        Actual::Signed(n) => n.to_string(),
        Actual::Float(n) => n.to_string(),
        Actual::Bool(b) => b.to_string(),
        Actual::Seq => "a list".to_owned(),
        Actual::Map => "a table".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::Segment;

    const MACHINE: &[&str] = &["id", "name", "ideal_cycle_time", "products", "fault_codes", "tags"];

    #[test]
    fn closest_known_name_is_suggested_for_typos_only() {
        let cases = [
            ("ideal_cycle_tme", Some("ideal_cycle_time")),  // one letter left out
            ("idael_cycle_time", Some("ideal_cycle_time")), // two letters swapped: one edit
            ("Ideal_Cycle_Time", Some("ideal_cycle_time")), // case
            ("tag", Some("tags")),                          // 1 edit, 4 letters: 1 allowed
            ("nmae", Some("name")),                         // swap
            ("fault_code", Some("fault_codes")),
            ("colour", None), // 6 edits from anything
            ("cycle", None),  // 11 edits from ideal_cycle_time
        ];
        for (wrong, want) in cases {
            assert_eq!(closest(wrong, MACHINE), want, "{wrong}");
        }
    }

    #[test]
    fn messages_name_the_key_once_without_nested_backticks() {
        let path = || KeyPath(vec![Segment::Key("lines".into()), Segment::Index(0)]);
        let cases = [
            (
                Kind::UnknownField("ideal_cycle_tme".into(), MACHINE),
                "lines[0]",
                "unknown key, did you mean `ideal_cycle_time`?",
            ),
            (
                Kind::UnknownField("colour".into(), &["id", "name"]),
                "lines[0]",
                "unknown key, expected one of `id`, `name`",
            ),
            (
                Kind::UnknownField("colour".into(), &[]),
                "lines[0]",
                "unknown key, none are expected here",
            ),
            (
                Kind::UnknownVariant("runing".into(), &["running", "idle"]),
                "lines[0]",
                "unknown value \"runing\", did you mean `running`?",
            ),
            (
                Kind::UnknownVariant("flying".into(), &["running", "idle"]),
                "lines[0]",
                "unknown value \"flying\", expected one of `running`, `idle`",
            ),
            (
                Kind::MissingField("tags".into()),
                "lines[0].tags",
                "required key is missing",
            ),
            (
                Kind::InvalidValue(Actual::Str("fast".into()), "a duration".into()),
                "lines[0]",
                "expected a duration, found \"fast\"",
            ),
            (
                Kind::InvalidType(Actual::Unsigned(5), "a string".into()),
                "lines[0]",
                "expected a string, found 5",
            ),
        ];
        for (kind, key, reason) in cases {
            let (got_key, got_reason) = describe(&kind, path());
            assert_eq!((got_key.to_string().as_str(), got_reason.as_str()), (key, reason));
        }
    }
}
