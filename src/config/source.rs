//! Where a key is in a configuration file, and how every message writes a key.
//!
//! One syntax for keys, the path to them in the file: keys as written joined by dots, and
//! `[n]` for an element of an array from 0: `lines[0].machines[2].ideal_cycle_time`,
//! `opcua.endpoints[0].nodes.L1.Filler.Good`. [`SourceMap`] keeps the parsed file with its
//! spans, so a message can give the line a key is on and, inside a machine or a line, that
//! machine's or line's id.

use std::fmt;
use std::ops::Range;

use toml_edit::{ImDocument, Item, Table, TableLike, Value};

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// A key of a table.
    Key(String),
    /// An element of an array (of tables), from 0.
    Index(usize),
}

/// A key as messages write it, e.g. `lines[0].machines[2].tags.good`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyPath(pub(crate) Vec<Segment>);

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(k) if i == 0 => write!(f, "{k}")?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

impl KeyPath {
    /// Reads a key written as [`KeyPath`] displays it; `None` for anything else (such as
    /// `(file)`). A key with a dot in it reads as several keys; [`SourceMap`] joins them
    /// again where the file has such a key.
    pub(crate) fn parse(text: &str) -> Option<KeyPath> {
        if text.starts_with('(') {
            return None;
        }
        let mut segments = Vec::new();
        for part in text.split('.') {
            let (key, mut indexes) = part.split_once('[').map_or((part, ""), |(k, rest)| (k, rest));
            if key.is_empty() {
                return None;
            }
            segments.push(Segment::Key(key.to_owned()));
            while !indexes.is_empty() {
                let (digits, rest) = indexes.split_once(']')?;
                segments.push(Segment::Index(digits.parse().ok()?));
                indexes = match rest {
                    "" => "",
                    more => more.strip_prefix('[')?,
                };
            }
        }
        Some(KeyPath(segments))
    }

    /// This path with one more key.
    pub(crate) fn key(mut self, key: &str) -> KeyPath {
        self.0.push(Segment::Key(key.to_owned()));
        self
    }
}

/// A file that is not valid TOML: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// The parser's words, on one line.
    pub(crate) message: String,
    /// 1-based line, if known.
    pub(crate) line: Option<usize>,
}

/// A parsed TOML file that remembers where each key was written.
pub(crate) struct SourceMap {
    doc: ImDocument<String>,
}

/// A place in the document: a table, an item, or a value inside an array.
#[derive(Clone, Copy)]
enum Node<'a> {
    Table(&'a Table),
    Item(&'a Item),
    Value(&'a Value),
}

impl<'a> Node<'a> {
    fn table_like(self) -> Option<&'a dyn TableLike> {
        match self {
            Node::Table(t) => Some(t),
            Node::Item(i) => i.as_table_like(),
            Node::Value(v) => v.as_inline_table().map(|t| t as &dyn TableLike),
        }
    }

    fn is_array(self) -> bool {
        match self {
            Node::Table(_) => false,
            Node::Item(i) => i.is_array_of_tables() || i.is_array(),
            Node::Value(v) => v.is_array(),
        }
    }

    fn element(self, index: usize) -> Option<(Node<'a>, Option<Range<usize>>)> {
        let array = match self {
            Node::Item(Item::ArrayOfTables(a)) => {
                return a.get(index).map(|t| (Node::Table(t), t.span()));
            }
            Node::Item(Item::Value(Value::Array(a))) | Node::Value(Value::Array(a)) => a,
            _ => return None,
        };
        array.get(index).map(|v| (Node::Value(v), v.span()))
    }

    fn entry(self, key: &str) -> Option<(Node<'a>, Option<Range<usize>>)> {
        let (k, item) = self.table_like()?.get_key_value(key)?;
        Some((Node::Item(item), k.span().or_else(|| item.span())))
    }

    fn as_str(self) -> Option<&'a str> {
        match self {
            Node::Item(i) => i.as_str(),
            Node::Value(v) => v.as_str(),
            Node::Table(_) => None,
        }
    }
}

impl SourceMap {
    /// Parses `text`; a syntax error says what and on which line.
    pub(crate) fn parse(text: &str) -> Result<SourceMap, SyntaxError> {
        match ImDocument::parse(text.to_owned()) {
            Ok(doc) => Ok(SourceMap { doc }),
            Err(e) => {
                let message = e
                    .message()
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect::<Vec<_>>()
                    .join("; ");
                let line = e.span().map(|s| line_at(text, s.start));
                Err(SyntaxError { message, line })
            }
        }
    }

    /// Follows `path` as far as the file has it: the node reached, the span of the last
    /// step taken, and how many segments were followed. Keys that miss are tried joined
    /// with the keys after them, for keys with dots (`nodes."L1.Filler.Good"`).
    fn walk(&self, path: &KeyPath) -> (Node<'_>, Option<Range<usize>>, usize) {
        let mut node = Node::Table(self.doc.as_table());
        let mut span = None;
        let mut at = 0;
        while at < path.0.len() {
            let next = match &path.0[at] {
                Segment::Index(i) => node.element(*i).map(|n| (n, 1)),
                Segment::Key(k) => node.entry(k).map(|n| (n, 1)).or_else(|| {
                    let mut joined = k.clone();
                    path.0[at + 1..]
                        .iter()
                        .map_while(|s| match s {
                            Segment::Key(k) => Some(k),
                            Segment::Index(_) => None,
                        })
                        .enumerate()
                        .find_map(|(more, k)| {
                            joined = format!("{joined}.{k}");
                            node.entry(&joined).map(|n| (n, more + 2))
                        })
                }),
            };
            match next {
                Some(((n, s), used)) => {
                    node = n;
                    span = s.or(span);
                    at += used;
                }
                None => return (node, span, at),
            }
        }
        (node, span, at)
    }

    /// The 1-based line `path` is written on; for a key the file lacks, the line of the
    /// nearest table it belongs in.
    pub(crate) fn line_of(&self, path: &KeyPath) -> Option<usize> {
        let (_, span, _) = self.walk(path);
        span.map(|s| line_at(self.doc.raw(), s.start))
    }

    /// The machine (`machine l1-capper`) or line (`line line-1`) a key is or belongs to,
    /// by its id in the file; none for the id itself.
    pub(crate) fn subject_of(&self, path: &KeyPath) -> Option<String> {
        use Segment::{Index, Key};
        let (what, entity, rest) = match path.0.as_slice() {
            [Key(l), Index(_), Key(m), Index(_), rest @ ..] if l == "lines" && m == "machines" => {
                ("machine", &path.0[..4], rest)
            }
            [Key(l), Index(_), rest @ ..] if l == "lines" => ("line", &path.0[..2], rest),
            _ => return None,
        };
        if matches!(rest, [Key(k)] if k == "id") {
            return None;
        }
        let id_path = KeyPath(entity.to_vec()).key("id");
        let (node, _, taken) = self.walk(&id_path);
        let id = node.as_str().filter(|_| taken == id_path.0.len())?;
        Some(format!("{what} {id}"))
    }

    /// A path as figment gives it (`["lines", "0", "machines"]`) in the one syntax:
    /// a number is an index where the file has an array there.
    pub(crate) fn resolve(&self, raw: &[String]) -> KeyPath {
        let mut path = KeyPath::default();
        for segment in raw {
            let (node, _, taken) = self.walk(&path);
            let here = taken == path.0.len();
            let index = segment.parse::<usize>().ok().filter(|_| !here || node.is_array());
            path.0.push(match index {
                Some(i) => Segment::Index(i),
                None => Segment::Key(segment.clone()),
            });
        }
        path
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

/// A figment path in the one syntax, without the file at hand: numbers are indexes.
pub(crate) fn resolve_without_source(raw: &[String]) -> KeyPath {
    KeyPath(
        raw.iter()
            .map(|s| match s.parse::<usize>() {
                Ok(i) => Segment::Index(i),
                Err(_) => Segment::Key(s.clone()),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"timezone = "UTC"

[[lines]]
id = "line-1"
name = "Line 1"

[[lines.machines]]
id = "m1"
tags = { good = { tag = "M1.Good" } }

[[lines.machines]]
id = "m2"
ideal_cycle_time = "1s"
[lines.machines.tags]
good = { tag = "M2.Good" }
[lines.machines.fault_codes]
"7" = "jam"
[opcua.nodes]
"L1.Filler.Good" = "ns=3;i=1"
"#;

    fn path(text: &str) -> KeyPath {
        KeyPath::parse(text).unwrap_or_else(|| panic!("{text} parses"))
    }

    #[test]
    fn key_paths_read_back_as_written() {
        let cases = [
            "lines[0].machines[2].ideal_cycle_time",
            "timezone",
            "opcua.endpoints[0].nodes.L1.Filler.Good",
            "andon.reasons.mechanical/x",
            "m[1][2].n",
        ];
        for text in cases {
            assert_eq!(path(text).to_string(), text);
        }
        assert_eq!(
            path("m[1][2].n").0,
            [
                Segment::Key("m".into()),
                Segment::Index(1),
                Segment::Index(2),
                Segment::Key("n".into())
            ]
        );
        for bad in ["(file)", "(top level)", "a..b", "a[x]", "", "a[1]b", "a[1"] {
            assert_eq!(KeyPath::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn lines_and_subjects_come_from_the_file() {
        let map = SourceMap::parse(TEXT).unwrap_or_else(|e| panic!("{e:?}"));
        // (key, line: counted in TEXT above, subject)
        let cases = [
            ("timezone", Some(1), None),
            ("lines[0]", Some(3), Some("line line-1")),
            ("lines[0].name", Some(5), Some("line line-1")),
            ("lines[0].id", Some(4), None),
            ("lines[0].machines[0]", Some(7), Some("machine m1")),
            ("lines[0].machines[0].tags.good", Some(9), Some("machine m1")),
            ("lines[0].machines[1].ideal_cycle_time", Some(13), Some("machine m2")),
            ("lines[0].machines[1].tags.good", Some(15), Some("machine m2")),
            ("lines[0].machines[1].fault_codes.7", Some(17), Some("machine m2")),
            ("lines[0].machines[1].id", Some(12), None),
            // A key with dots in it.
            ("opcua.nodes.L1.Filler.Good", Some(19), None),
            ("opcua.nodes.L1.Filler.Bad", Some(18), None),
            // Not in the file: the nearest table it belongs in.
            ("lines[0].machines[1].products", Some(11), Some("machine m2")),
            ("lines[3].name", Some(3), None),
            ("shifts", None, None),
        ];
        for (key, line, subject) in cases {
            let p = path(key);
            assert_eq!(map.line_of(&p), line, "{key}");
            assert_eq!(map.subject_of(&p).as_deref(), subject, "{key}");
        }
    }

    #[test]
    fn figment_paths_become_indexes_where_the_file_has_arrays() {
        let map = SourceMap::parse(TEXT).unwrap_or_else(|e| panic!("{e:?}"));
        let raw = |s: &str| s.split('.').map(str::to_owned).collect::<Vec<_>>();
        let cases = [
            (
                "lines.0.machines.1.ideal_cycle_tme",
                "lines[0].machines[1].ideal_cycle_tme",
            ),
            ("lines.0.machines.1.fault_codes.7", "lines[0].machines[1].fault_codes.7"),
        ];
        for (figment, want) in cases {
            assert_eq!(map.resolve(&raw(figment)).to_string(), want);
        }
        let dotted = ["nodes".to_owned(), "L1.Good".to_owned()];
        assert_eq!(
            map.resolve(&dotted).0,
            [Segment::Key("nodes".into()), Segment::Key("L1.Good".into())]
        );
        assert_eq!(resolve_without_source(&raw("a.0.b")).to_string(), "a[0].b");
    }

    #[test]
    fn syntax_errors_give_the_line() {
        let err = SourceMap::parse("timezone = \"UTC\"\n[[lines]\nid = 1\n").err();
        assert_eq!(err.and_then(|e| e.line), Some(2));
    }
}
