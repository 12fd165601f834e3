//! Logix tag addresses: `Count`, `Counts[3]`, `Grid[1,2]`, `Line.Filler.Good` (members of
//! structures), `Program:Main.Count` (program scope) and `Status.5` (bit 5 of an integer),
//! turned into the symbolic EPATH of a Read Tag request (ANSI extended symbol segments
//! 0x91, element segments 0x28/0x29/0x2A).

/// A parsed address: the request path, and the bit to take from the value if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogixAddress {
    /// The EPATH (an even number of bytes).
    pub path: Vec<u8>,
    /// Bit of an integer value (`Tag.5`).
    pub bit: Option<u8>,
}

/// Longest Logix tag or member name.
const MAX_NAME: usize = 40;

/// Parses an address, or says what is wrong with it.
pub fn parse(text: &str) -> Result<LogixAddress, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty address".into());
    }
    let (program, rest) = match text.strip_prefix("Program:") {
        Some(rest) => {
            let (name, rest) = rest
                .split_once('.')
                .ok_or_else(|| "`Program:<name>` must be followed by `.<tag>`".to_owned())?;
            check_name(name)?;
            (Some(format!("Program:{name}")), rest)
        }
        None => (None, text),
    };
    let mut path = Vec::new();
    if let Some(p) = &program {
        symbol(&mut path, p);
    }
    let parts: Vec<&str> = rest.split('.').collect();
    let mut bit = None;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 && i == parts.len() - 1 && part.chars().all(|c| c.is_ascii_digit()) && !part.is_empty() {
            let b: u8 = part.parse().map_err(|_| format!("bit `{part}` is not 0..31"))?;
            if b > 31 {
                return Err(format!("bit `{part}` is not 0..31"));
            }
            bit = Some(b);
            break;
        }
        let (name, index) = match part.split_once('[') {
            Some((name, tail)) => {
                let inner = tail
                    .strip_suffix(']')
                    .ok_or_else(|| format!("`{part}`: `[` without a closing `]`"))?;
                (name, Some(inner))
            }
            None => (*part, None),
        };
        check_name(name)?;
        symbol(&mut path, name);
        if let Some(inner) = index {
            let dims: Vec<&str> = inner.split(',').map(str::trim).collect();
            if dims.len() > 3 {
                return Err(format!("`{part}`: at most 3 dimensions"));
            }
            for d in dims {
                let n: u32 = d
                    .parse()
                    .map_err(|_| format!("`{part}`: index `{d}` is not a whole number"))?;
                element(&mut path, n);
            }
        }
    }
    Ok(LogixAddress { path, bit })
}

fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "`{name}` is not a tag name (letters, digits and _, not starting with a digit)"
        ));
    }
    if name.len() > MAX_NAME {
        return Err(format!("`{name}` is longer than {MAX_NAME} characters"));
    }
    Ok(())
}

/// An ANSI extended symbol segment, padded to a whole word.
fn symbol(path: &mut Vec<u8>, name: &str) {
    path.push(0x91);
    path.push(name.len() as u8);
    path.extend_from_slice(name.as_bytes());
    if name.len() % 2 == 1 {
        path.push(0);
    }
}

/// An element (array index) segment of the smallest size that holds `n`.
fn element(path: &mut Vec<u8>, n: u32) {
    if let Ok(b) = u8::try_from(n) {
        path.extend_from_slice(&[0x28, b]);
    } else if let Ok(w) = u16::try_from(n) {
        path.extend_from_slice(&[0x29, 0]);
        path.extend_from_slice(&w.to_le_bytes());
    } else {
        path.extend_from_slice(&[0x2A, 0]);
        path.extend_from_slice(&n.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_become_symbolic_paths() {
        // (address, path, bit)
        let table: [(&str, Vec<u8>, Option<u8>); 7] = [
            ("Count", [&[0x91, 5][..], b"Count", &[0]].concat(), None),
            ("Ab", [&[0x91, 2][..], b"Ab"].concat(), None),
            ("Counts[3]", [&[0x91, 6][..], b"Counts", &[0x28, 3]].concat(), None),
            (
                "Arr[300,70000]",
                [
                    &[0x91, 3][..],
                    b"Arr",
                    &[0],
                    &[0x29, 0, 0x2C, 0x01],
                    &[0x2A, 0, 0x70, 0x11, 0x01, 0x00],
                ]
                .concat(),
                None,
            ),
            (
                "Program:Main.Count",
                [&[0x91, 12][..], b"Program:Main", &[0x91, 5], b"Count", &[0]].concat(),
                None,
            ),
            (
                "Line.Good",
                [&[0x91, 4][..], b"Line", &[0x91, 4], b"Good"].concat(),
                None,
            ),
            ("Status.5", [&[0x91, 6][..], b"Status"].concat(), Some(5)),
        ];
        for (text, path, bit) in table {
            assert_eq!(parse(text), Ok(LogixAddress { path, bit }), "{text}");
        }
    }

    #[test]
    fn bad_addresses_say_what_is_wrong() {
        // (address, part of the message)
        let table = [
            ("", "empty"),
            ("1Count", "not a tag name"),
            ("Count[3", "closing"),
            ("Count[x]", "not a whole number"),
            ("Count[1,2,3,4]", "3 dimensions"),
            ("Program:Main", "followed by"),
            ("Status.40", "0..31"),
            ("Tag.Bad-Name", "not a tag name"),
            ("A..B", "not a tag name"),
        ];
        for (text, want) in table {
            match parse(text) {
                Err(e) => assert!(e.contains(want), "{text}: {e}"),
                Ok(a) => panic!("{text} parsed as {a:?}"),
            }
        }
        assert!(parse(&"x".repeat(41)).is_err());
    }
}
