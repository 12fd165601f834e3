//! SLC 500 / MicroLogix data-table addresses: `N7:0` (integer), `N7:0/3` (a bit of it),
//! `B3:0/5` or `B3/21` (bits), `F8:0` (float), `T4:0.ACC`, `T4:0.PRE`, `T4:0.DN`
//! (timers), `C5:0.ACC`, `C5:0.PRE`, `C5:0.DN` (counters).

/// A data-table file type, with its PCCC type code and element size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileType {
    /// `B`: bits, one word per element.
    Bit,
    /// `T`: timers, three words (control, PRE, ACC).
    Timer,
    /// `C`: counters, three words (control, PRE, ACC).
    Counter,
    /// `N`: 16-bit integers.
    Integer,
    /// `F`: 32-bit floats.
    Float,
}

impl FileType {
    /// The type code of a typed read.
    pub fn code(self) -> u8 {
        match self {
            FileType::Bit => 0x85,
            FileType::Timer => 0x86,
            FileType::Counter => 0x87,
            FileType::Integer => 0x89,
            FileType::Float => 0x8A,
        }
    }

    /// Bytes per element.
    pub fn element_bytes(self) -> usize {
        match self {
            FileType::Bit | FileType::Integer => 2,
            FileType::Float => 4,
            FileType::Timer | FileType::Counter => 6,
        }
    }
}

/// A parsed address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcccAddress {
    /// File type.
    pub file_type: FileType,
    /// File number (`7` of `N7`).
    pub file: u16,
    /// Element number.
    pub element: u16,
    /// Word within the element (timers and counters: 0 control, 1 PRE, 2 ACC).
    pub word: u8,
    /// Bit of that word.
    pub bit: Option<u8>,
}

/// Parses an address, or says what is wrong with it.
pub fn parse(text: &str) -> Result<PcccAddress, String> {
    let t = text.trim().to_ascii_uppercase();
    let letter = t.chars().next().ok_or("empty address")?;
    let file_type = match letter {
        'N' => FileType::Integer,
        'B' => FileType::Bit,
        'F' => FileType::Float,
        'T' => FileType::Timer,
        'C' => FileType::Counter,
        _ => return Err(format!("`{text}`: the file type must be N, B, F, T or C")),
    };
    let rest = &t[1..];
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let file: u16 = rest[..digits]
        .parse()
        .map_err(|_| format!("`{text}`: a file number must follow `{letter}` (e.g. N7:0)"))?;
    if file > 255 {
        return Err(format!("`{text}`: file number above 255"));
    }
    let rest = &rest[digits..];
    // B3/21: a bit counted from the start of the file
    if let (FileType::Bit, Some(bit)) = (file_type, rest.strip_prefix('/')) {
        let n: u32 = bit
            .parse()
            .map_err(|_| format!("`{text}`: `{bit}` is not a bit number"))?;
        let element = u16::try_from(n / 16).map_err(|_| format!("`{text}`: bit number too large"))?;
        return Ok(PcccAddress {
            file_type,
            file,
            element,
            word: 0,
            bit: Some((n % 16) as u8),
        });
    }
    let rest = rest
        .strip_prefix(':')
        .ok_or_else(|| format!("`{text}`: `:` and an element must follow the file (e.g. {letter}{file}:0)"))?;
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let element: u16 = rest[..digits]
        .parse()
        .map_err(|_| format!("`{text}`: `{}` is not an element number", &rest[..digits]))?;
    let rest = &rest[digits..];
    let (word, bit) = match (file_type, rest) {
        (_, "") if matches!(file_type, FileType::Timer | FileType::Counter) => {
            return Err(format!("`{text}`: name a part of the element (.ACC, .PRE, .DN)"));
        }
        (_, "") => (0, None),
        (FileType::Float, _) => return Err(format!("`{text}`: a float has no bits or parts")),
        (FileType::Integer | FileType::Bit, r) => {
            let bit = r
                .strip_prefix('/')
                .and_then(|b| b.parse::<u8>().ok())
                .filter(|b| *b < 16)
                .ok_or_else(|| format!("`{text}`: `{r}` is not /0 to /15"))?;
            (0, Some(bit))
        }
        (FileType::Timer | FileType::Counter, r) => {
            let part = r
                .strip_prefix('.')
                .ok_or_else(|| format!("`{text}`: `{r}` is not a part such as .ACC"))?;
            match (file_type, part) {
                (_, "PRE") => (1, None),
                (_, "ACC") => (2, None),
                (_, "DN") => (0, Some(13)),
                (FileType::Timer, "EN") => (0, Some(15)),
                (FileType::Timer, "TT") => (0, Some(14)),
                (FileType::Counter, "CU") => (0, Some(15)),
                (FileType::Counter, "CD") => (0, Some(14)),
                (FileType::Counter, "OV") => (0, Some(12)),
                (FileType::Counter, "UN") => (0, Some(11)),
                _ => return Err(format!("`{text}`: `.{part}` is not a part of a {letter} element")),
            }
        }
    };
    Ok(PcccAddress {
        file_type,
        file,
        element,
        word,
        bit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(file_type: FileType, file: u16, element: u16, word: u8, bit: Option<u8>) -> PcccAddress {
        PcccAddress {
            file_type,
            file,
            element,
            word,
            bit,
        }
    }

    #[test]
    fn addresses_parse() {
        use FileType::*;
        let table = [
            ("N7:0", a(Integer, 7, 0, 0, None)),
            ("n7:12", a(Integer, 7, 12, 0, None)),
            ("N10:3/15", a(Integer, 10, 3, 0, Some(15))),
            ("B3:0/5", a(Bit, 3, 0, 0, Some(5))),
            ("B3:2", a(Bit, 3, 2, 0, None)),
            // B3/21 is bit 21 of the file: element 1, bit 5
            ("B3/21", a(Bit, 3, 1, 0, Some(5))),
            ("F8:0", a(Float, 8, 0, 0, None)),
            ("T4:0.ACC", a(Timer, 4, 0, 2, None)),
            ("T4:1.PRE", a(Timer, 4, 1, 1, None)),
            ("T4:0.DN", a(Timer, 4, 0, 0, Some(13))),
            ("T4:0.EN", a(Timer, 4, 0, 0, Some(15))),
            ("C5:0.ACC", a(Counter, 5, 0, 2, None)),
            ("C5:0.CU", a(Counter, 5, 0, 0, Some(15))),
            ("C5:300.OV", a(Counter, 5, 300, 0, Some(12))),
        ];
        for (text, want) in table {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn bad_addresses_say_what_is_wrong() {
        let table = [
            ("", "empty"),
            ("X7:0", "file type"),
            ("N:0", "file number"),
            ("N300:0", "above 255"),
            ("N7", "element must follow"),
            ("N7:x", "not an element"),
            ("N7:0/16", "/0 to /15"),
            ("F8:0/1", "no bits"),
            ("T4:0", "name a part"),
            ("T4:0.CU", "not a part of a T"),
            ("C5:0.EN", "not a part of a C"),
            ("C5:0ACC", "not a part such as"),
            ("B3/x", "not a bit number"),
        ];
        for (text, want) in table {
            match parse(text) {
                Err(e) => assert!(e.contains(want), "{text}: {e}"),
                Ok(p) => panic!("{text} parsed as {p:?}"),
            }
        }
    }
}
