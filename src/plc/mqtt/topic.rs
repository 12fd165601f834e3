//! Plain MQTT topics: topic filters with `+` and `#`, the levels they match filled into tag
//! names (`{1}`, `{2}`, … for each `+` in order, `{#}` for what `#` matched), and values read
//! from JSON or scalar payloads by JSON pointer, with an optional timestamp beside them.

use crate::domain::EpochMs;
use crate::domain::tag::TagValue;

/// Why a topic filter or tag template is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    /// Empty filter.
    #[error("must not be empty")]
    Empty,
    /// A wildcard sharing its level with other characters.
    #[error("`{0}` must be a whole topic level (`a/+/b`, `a/#`)")]
    PartialWildcard(char),
    /// `#` not at the end.
    #[error("`#` must be the last level")]
    HashNotLast,
    /// A placeholder with no wildcard behind it.
    #[error("`{{{0}}}` names no wildcard of the topic (it has {1} `+`)")]
    NoSuchLevel(String, usize),
    /// A placeholder left open.
    #[error("a `{{` without its `}}`")]
    Unclosed,
}

/// A topic filter, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicFilter {
    text: String,
    levels: Vec<Level>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Level {
    Exact(String),
    Plus,
    Hash,
}

impl TopicFilter {
    /// Reads a filter (`plant/+/filler/#`).
    pub fn parse(text: &str) -> Result<TopicFilter, TopicError> {
        if text.is_empty() {
            return Err(TopicError::Empty);
        }
        let parts: Vec<&str> = text.split('/').collect();
        let mut levels = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            levels.push(match *part {
                "+" => Level::Plus,
                "#" if i + 1 == parts.len() => Level::Hash,
                "#" => return Err(TopicError::HashNotLast),
                p if p.contains('+') => return Err(TopicError::PartialWildcard('+')),
                p if p.contains('#') => return Err(TopicError::PartialWildcard('#')),
                p => Level::Exact(p.to_owned()),
            });
        }
        Ok(TopicFilter {
            text: text.to_owned(),
            levels,
        })
    }

    /// The filter as written (what is subscribed to).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// How many `+` levels it has.
    pub fn pluses(&self) -> usize {
        self.levels.iter().filter(|l| **l == Level::Plus).count()
    }

    /// Whether it ends in `#`.
    pub fn has_hash(&self) -> bool {
        self.levels.last() == Some(&Level::Hash)
    }

    /// The levels `topic` gives the wildcards, if it matches: one per `+` in order, then
    /// what `#` matched (joined by `/`). Topics starting with `$` match no wildcard at the
    /// first level, as MQTT has it.
    pub fn captures<'t>(&self, topic: &'t str) -> Option<Captures<'t>> {
        let mut plus = Vec::new();
        let mut rest = topic;
        for (i, level) in self.levels.iter().enumerate() {
            if i == 0 && topic.starts_with('$') && !matches!(level, Level::Exact(_)) {
                return None;
            }
            if *level == Level::Hash {
                return Some(Captures { plus, hash: Some(rest) });
            }
            let (part, after) = match rest.split_once('/') {
                Some((part, after)) => (part, Some(after)),
                None => (rest, None),
            };
            match level {
                Level::Exact(want) if want != part => return None,
                Level::Plus => plus.push(part),
                _ => {}
            }
            match after {
                Some(after) => rest = after,
                None => {
                    // the topic ends: matched if the filter ends too, or goes on with `#`
                    let next = self.levels.get(i + 1);
                    return match next {
                        None => Some(Captures { plus, hash: None }),
                        Some(Level::Hash) => Some(Captures { plus, hash: Some("") }),
                        Some(_) => None,
                    };
                }
            }
        }
        None
    }
}

/// What a topic gave a filter's wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captures<'t> {
    /// One per `+`, in order.
    pub plus: Vec<&'t str>,
    /// What `#` matched.
    pub hash: Option<&'t str>,
}

/// A tag name with placeholders: `{1}` is the first `+` level, `{#}` what `#` matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Plus(usize),
    Hash,
}

impl TagTemplate {
    /// Reads a template for `filter`: each placeholder must name one of its wildcards.
    pub fn parse(text: &str, filter: &TopicFilter) -> Result<TagTemplate, TopicError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let Some(close) = rest[open..].find('}') else {
                return Err(TopicError::Unclosed);
            };
            let name = &rest[open + 1..open + close];
            let bad = || TopicError::NoSuchLevel(name.to_owned(), filter.pluses());
            parts.push(match name {
                "#" if filter.has_hash() => Part::Hash,
                n => match n.parse::<usize>() {
                    Ok(i) if i >= 1 && i <= filter.pluses() => Part::Plus(i - 1),
                    _ => return Err(bad()),
                },
            });
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(TagTemplate { parts })
    }

    /// The template has no placeholder: the one tag it names.
    pub fn literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Text(t)] => Some(t),
            _ => None,
        }
    }

    /// The tag for these captures.
    pub fn fill(&self, captures: &Captures<'_>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Plus(i) => out.push_str(captures.plus.get(*i).copied().unwrap_or("")),
                Part::Hash => out.push_str(captures.hash.unwrap_or("")),
            }
        }
        out
    }

    /// Whether some filling of the template gives `tag` (each placeholder standing for one
    /// or more characters): for checking a template against the plant's tags.
    pub fn could_be(&self, tag: &str) -> bool {
        fn go(parts: &[Part], s: &str) -> bool {
            match parts.split_first() {
                None => s.is_empty(),
                Some((Part::Text(t), more)) => s.strip_prefix(t.as_str()).is_some_and(|r| go(more, r)),
                Some((_, more)) => (1..=s.len())
                    .filter(|&n| s.is_char_boundary(n))
                    .any(|n| go(more, &s[n..])),
            }
        }
        go(&self.parts, tag)
    }
}

/// Whether `pointer` is a JSON pointer (RFC 6901): empty (the whole document) or `/…`.
pub fn valid_pointer(pointer: &str) -> bool {
    pointer.is_empty() || pointer.starts_with('/')
}

/// Why a payload gives no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueError {
    /// Not JSON, and not a plain number or `true`/`false` either.
    NotJson,
    /// Nothing at the pointer.
    Missing,
    /// Something at the pointer that is no number or boolean.
    WrongType,
}

/// A payload, parsed once for all the values read from it. A bare scalar (`42`, `3.5`,
/// `true`) is JSON too; so is `null`, which reads as missing.
pub fn parse_payload(bytes: &[u8]) -> Result<serde_json::Value, ValueError> {
    serde_json::from_slice(bytes).map_err(|_| ValueError::NotJson)
}

/// The value at `pointer`.
pub fn value_at(doc: &serde_json::Value, pointer: &str) -> Result<TagValue, ValueError> {
    match doc.pointer(pointer) {
        None | Some(serde_json::Value::Null) => Err(ValueError::Missing),
        Some(serde_json::Value::Bool(b)) => Ok(TagValue::Bool(*b)),
        Some(serde_json::Value::Number(n)) => match n.as_i64() {
            Some(i) => Ok(TagValue::Int(i)),
            None => n.as_f64().map(TagValue::Float).ok_or(ValueError::WrongType),
        },
        Some(_) => Err(ValueError::WrongType),
    }
}

/// The timestamp at `pointer`: a number of ms since the epoch, or an RFC 3339 string.
pub fn timestamp_at(doc: &serde_json::Value, pointer: &str) -> Option<EpochMs> {
    match doc.pointer(pointer)? {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        serde_json::Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis()),
        _ => None,
    }
}

/// Time stamps for values that carry none: the time of receipt, but never the same
/// millisecond twice for one tag (the machines drop a second value with its tag's last
/// time stamp as a duplicate, and a burst can bring two values of a tag within 1 ms).
#[derive(Debug, Default)]
pub struct ReceiptClock {
    last: std::collections::HashMap<String, EpochMs>,
}

impl ReceiptClock {
    /// The time stamp of a value of `tag` received at `now`.
    pub fn stamp(&mut self, tag: &str, now: EpochMs) -> EpochMs {
        let ts = match self.last.get(tag) {
            Some(&last) if last >= now => last + 1,
            _ => now,
        };
        match self.last.get_mut(tag) {
            Some(last) => *last = ts,
            None => {
                self.last.insert(tag.to_owned(), ts);
            }
        }
        ts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(text: &str) -> TopicFilter {
        TopicFilter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn filters_are_checked() {
        let table = [
            ("plant/line1/filler", Ok(())),
            ("plant/+/filler/#", Ok(())),
            ("#", Ok(())),
            ("+", Ok(())),
            ("", Err(TopicError::Empty)),
            ("plant/#/filler", Err(TopicError::HashNotLast)),
            ("plant/line+/x", Err(TopicError::PartialWildcard('+'))),
            ("plant/x#", Err(TopicError::PartialWildcard('#'))),
        ];
        for (text, want) in table {
            assert_eq!(TopicFilter::parse(text).map(|_| ()), want, "{text}");
        }
    }

    #[test]
    fn topics_match_filters_and_fill_the_wildcards() {
        // (filter, topic, + levels, # rest; None: no match)
        type Want = Option<(Vec<&'static str>, Option<&'static str>)>;
        let table: [(&str, &str, Want); 12] = [
            ("a/b", "a/b", Some((vec![], None))),
            ("a/b", "a/c", None),
            ("a/b", "a/b/c", None),
            ("a/+/c", "a/x/c", Some((vec!["x"], None))),
            ("a/+/c", "a/x/y", None),
            ("a/+/+", "a/x/y", Some((vec!["x", "y"], None))),
            ("a/+", "a/", Some((vec![""], None))),
            ("a/#", "a/b/c", Some((vec![], Some("b/c")))),
            // `#` also matches the parent level
            ("a/#", "a", Some((vec![], Some("")))),
            ("+/#", "a/b", Some((vec!["a"], Some("b")))),
            ("#", "$SYS/broker/uptime", None),
            ("+/x", "$SYS/x", None),
        ];
        for (f, topic, want) in table {
            let got = filter(f).captures(topic).map(|c| (c.plus, c.hash));
            assert_eq!(got, want, "{f} {topic}");
        }
    }

    #[test]
    fn templates_fill_from_captures_and_name_only_real_wildcards() {
        let f = filter("plant/+/+/#");
        let t = TagTemplate::parse("{1}.{2}.{#}", &f).unwrap_or_else(|e| panic!("{e}"));
        let topic = "plant/L1/Filler/Good";
        let caps = f.captures(topic).unwrap_or_else(|| panic!("matches"));
        assert_eq!(t.fill(&caps), "L1.Filler.Good");
        assert_eq!(t.literal(), None);
        assert!(t.could_be("L1.Filler.Good"));
        assert!(!t.could_be("L1.Filler"));
        let lit = TagTemplate::parse("L1.Filler.Good", &f).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(lit.literal(), Some("L1.Filler.Good"));
        let one = filter("plant/+/state");
        let table = [
            ("{2}", Err(TopicError::NoSuchLevel("2".into(), 1))),
            ("{0}", Err(TopicError::NoSuchLevel("0".into(), 1))),
            ("{#}", Err(TopicError::NoSuchLevel("#".into(), 1))),
            ("{1", Err(TopicError::Unclosed)),
            ("{1}.State", Ok(())),
        ];
        for (text, want) in table {
            assert_eq!(TagTemplate::parse(text, &one).map(|_| ()), want, "{text}");
        }
    }

    #[test]
    fn values_and_timestamps_come_from_pointers() {
        let doc = parse_payload(
            br#"{"good": 12, "rate": 1.5, "run": true, "name": "x", "ts": 1700000000000,
            "at": "2026-03-02T00:00:01Z", "nested": {"v": [3, 4]}, "none": null}"#,
        )
        .unwrap_or_else(|_| panic!("json"));
        let table = [
            ("/good", Ok(TagValue::Int(12))),
            ("/rate", Ok(TagValue::Float(1.5))),
            ("/run", Ok(TagValue::Bool(true))),
            ("/nested/v/1", Ok(TagValue::Int(4))),
            ("/name", Err(ValueError::WrongType)),
            ("/nested", Err(ValueError::WrongType)),
            ("/none", Err(ValueError::Missing)),
            ("/absent", Err(ValueError::Missing)),
        ];
        for (pointer, want) in table {
            assert_eq!(value_at(&doc, pointer), want, "{pointer}");
        }
        assert_eq!(timestamp_at(&doc, "/ts"), Some(1_700_000_000_000));
        // 2026-03-02T00:00:01Z = DAY (1_772_409_600_000) + 1 s
        assert_eq!(timestamp_at(&doc, "/at"), Some(1_772_409_601_000));
        assert_eq!(timestamp_at(&doc, "/name"), None);
        // scalar payloads are their own value at the empty pointer
        for (payload, want) in [
            (&b"42"[..], Ok(TagValue::Int(42))),
            (b"-3.25", Ok(TagValue::Float(-3.25))),
            (b"false", Ok(TagValue::Bool(false))),
            (b"running", Err(ValueError::NotJson)),
        ] {
            assert_eq!(parse_payload(payload).and_then(|d| value_at(&d, "")), want);
        }
        assert!(valid_pointer("") && valid_pointer("/a/b") && !valid_pointer("a/b"));
    }

    #[test]
    fn values_received_in_one_millisecond_get_successive_stamps_per_tag() {
        let mut clock = ReceiptClock::default();
        // (tag, received at, stamp)
        let table = [
            ("A", 100, 100),
            ("A", 100, 101),
            ("B", 100, 100),
            ("A", 100, 102),
            // time catches up: the receipt time again
            ("A", 105, 105),
            ("A", 103, 106),
        ];
        for (tag, now, want) in table {
            assert_eq!(clock.stamp(tag, now), want, "{tag} at {now}");
        }
    }
}
