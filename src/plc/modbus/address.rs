//! Modbus addresses as the configuration writes them: which table, which address, which
//! bit, and how many registers a value takes. Pure parsing, no IO.
//!
//! Syntax: `hr:100` (holding register 100, the address on the wire, from 0), `ir:5`
//! (input register), `co:3` (coil), `di:7` (discrete input), or the Modicon form with one
//! more digit for the table and addresses from 1 (`40101` = `400101` = `hr:100`, `30001` =
//! `ir:0`, `00004` = `co:3`, `10008` = `di:7`). A register bit is `hr:100.3` (bit 0 is the
//! least significant). A type may follow: `hr:102:u32` (see [`DataType`]).

use std::fmt;

/// One of the four Modbus tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    /// Coils (read with function 1).
    Coil,
    /// Discrete inputs (function 2).
    DiscreteInput,
    /// Holding registers (function 3).
    HoldingRegister,
    /// Input registers (function 4).
    InputRegister,
}

impl Table {
    /// Whether the table holds bits (coils, discrete inputs) rather than 16-bit registers.
    pub fn is_bits(self) -> bool {
        matches!(self, Table::Coil | Table::DiscreteInput)
    }

    /// The most items one read request may ask for: 2,000 bits or 125 registers.
    pub fn max_per_request(self) -> u16 {
        if self.is_bits() { 2000 } else { 125 }
    }

    /// The short name (`co`, `di`, `hr`, `ir`).
    pub fn short(self) -> &'static str {
        match self {
            Table::Coil => "co",
            Table::DiscreteInput => "di",
            Table::HoldingRegister => "hr",
            Table::InputRegister => "ir",
        }
    }
}

/// How a value is stored in registers. Bits (`bool`) are the only type of coils and
/// discrete inputs, and the type of a register bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    /// A bit (coil, discrete input, register bit), or a register that is not 0.
    Bool,
    /// Unsigned 16-bit, one register (the default for registers).
    U16,
    /// Signed 16-bit.
    I16,
    /// Unsigned 32-bit, two registers.
    U32,
    /// Signed 32-bit.
    I32,
    /// Unsigned 64-bit, four registers (values up to 2^63 − 1).
    U64,
    /// Signed 64-bit.
    I64,
    /// IEEE 754 single precision, two registers.
    F32,
    /// IEEE 754 double precision, four registers.
    F64,
}

impl DataType {
    /// Registers a value of this type takes.
    pub fn registers(self) -> u16 {
        match self {
            DataType::Bool | DataType::U16 | DataType::I16 => 1,
            DataType::U32 | DataType::I32 | DataType::F32 => 2,
            DataType::U64 | DataType::I64 | DataType::F64 => 4,
        }
    }

    fn parse(s: &str) -> Option<DataType> {
        Some(match s {
            "bool" => DataType::Bool,
            "u16" => DataType::U16,
            "i16" => DataType::I16,
            "u32" => DataType::U32,
            "i32" => DataType::I32,
            "u64" => DataType::U64,
            "i64" => DataType::I64,
            "f32" => DataType::F32,
            "f64" => DataType::F64,
            _ => return None,
        })
    }
}

/// A parsed address: the table, the first address on the wire, a register bit, and the
/// type when the text named one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address {
    /// The table.
    pub table: Table,
    /// The address on the wire (from 0).
    pub address: u16,
    /// A bit of a register (0 = least significant).
    pub bit: Option<u8>,
    /// The type named after the address (`hr:102:u32`), if any.
    pub data_type: Option<DataType>,
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.table.short(), self.address)?;
        if let Some(bit) = self.bit {
            write!(f, ".{bit}")?;
        }
        Ok(())
    }
}

impl Address {
    /// The type of the value: the one given, else the one named in the text, else `bool`
    /// for bits and `u16` for registers. An error names what does not fit.
    pub fn resolve_type(&self, given: Option<DataType>) -> Result<DataType, String> {
        let ty = given.or(self.data_type);
        match (self.table.is_bits() || self.bit.is_some(), ty) {
            (true, None | Some(DataType::Bool)) => Ok(DataType::Bool),
            (true, Some(other)) => Err(format!(
                "a {} holds one bit: the type must be bool, not {other:?}",
                if self.bit.is_some() {
                    "register bit"
                } else {
                    "coil or discrete input"
                }
            )
            .to_lowercase()),
            (false, None) => Ok(DataType::U16),
            (false, Some(ty)) => {
                if u32::from(self.address) + u32::from(ty.registers()) > 65_536 {
                    Err(format!("{ty:?} at {} runs past the last register (65535)", self.address).to_lowercase())
                } else {
                    Ok(ty)
                }
            }
        }
    }
}

/// Why an address does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{text}` is not a Modbus address: {reason} (write e.g. hr:100, hr:102:u32, hr:7.3, ir:0, co:3, di:7 or 40101)"
)]
pub struct AddressError {
    /// The text given.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Parses an address (see the module documentation for the syntax).
pub fn parse(text: &str) -> Result<Address, AddressError> {
    let fail = |reason: &str| AddressError {
        text: text.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = text.trim();
    let (body, data_type) = match trimmed.split(':').collect::<Vec<_>>().as_slice() {
        [modicon] => (Body::Modicon(modicon), None),
        [table, rest] => (Body::Named(table, rest), None),
        [table, rest, ty] => (
            Body::Named(table, rest),
            Some(DataType::parse(ty).ok_or_else(|| fail(&format!("unknown type `{ty}`")))?),
        ),
        _ => return Err(fail("too many `:`")),
    };
    let (table, number, one_based) = match body {
        Body::Named(table, rest) => {
            let table = match table {
                "hr" => Table::HoldingRegister,
                "ir" => Table::InputRegister,
                "co" => Table::Coil,
                "di" => Table::DiscreteInput,
                other => return Err(fail(&format!("unknown table `{other}` (hr, ir, co or di)"))),
            };
            (table, rest, false)
        }
        Body::Modicon(digits) => {
            let (number, _) = digits.split_once('.').unwrap_or((digits, ""));
            if !(number.len() == 5 || number.len() == 6) || !number.bytes().all(|b| b.is_ascii_digit()) {
                return Err(fail("a Modicon address has 5 or 6 digits"));
            }
            let table = match &number[..1] {
                "0" => Table::Coil,
                "1" => Table::DiscreteInput,
                "3" => Table::InputRegister,
                "4" => Table::HoldingRegister,
                _ => return Err(fail("a Modicon address starts with 0, 1, 3 or 4")),
            };
            (table, &digits[1..], true)
        }
    };
    let (number, bit) = match number.split_once('.') {
        Some((n, b)) => (n, Some(b)),
        None => (number, None),
    };
    let value: u32 = number.parse().map_err(|_| fail("the address is not a number"))?;
    let address = if one_based {
        value
            .checked_sub(1)
            .ok_or_else(|| fail("Modicon addresses start at 1"))?
    } else {
        value
    };
    let address = u16::try_from(address).map_err(|_| fail("the address is above 65535"))?;
    let bit = match bit {
        None => None,
        Some(_) if table.is_bits() => return Err(fail("coils and discrete inputs have no bits")),
        Some(b) => match b.parse::<u8>() {
            Ok(b) if b < 16 => Some(b),
            _ => return Err(fail("a register bit is 0 to 15")),
        },
    };
    Ok(Address {
        table,
        address,
        bit,
        data_type,
    })
}

enum Body<'a> {
    Named(&'a str, &'a str),
    Modicon(&'a str),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(table: Table, address: u16, bit: Option<u8>, data_type: Option<DataType>) -> Address {
        Address {
            table,
            address,
            bit,
            data_type,
        }
    }

    #[test]
    fn addresses_parse_in_both_forms() {
        use DataType::*;
        use Table::*;
        let table = [
            ("hr:100", addr(HoldingRegister, 100, None, None)),
            ("ir:0", addr(InputRegister, 0, None, None)),
            ("co:3", addr(Coil, 3, None, None)),
            ("di:7", addr(DiscreteInput, 7, None, None)),
            ("hr:7.3", addr(HoldingRegister, 7, Some(3), None)),
            ("hr:102:u32", addr(HoldingRegister, 102, None, Some(U32))),
            ("ir:65535", addr(InputRegister, 65535, None, None)),
            (" hr:1:f64 ", addr(HoldingRegister, 1, None, Some(F64))),
            // Modicon: one digit for the table, then the address from 1
            ("40101", addr(HoldingRegister, 100, None, None)),
            ("400101", addr(HoldingRegister, 100, None, None)),
            ("465536", addr(HoldingRegister, 65535, None, None)),
            ("30001", addr(InputRegister, 0, None, None)),
            ("00004", addr(Coil, 3, None, None)),
            ("10008", addr(DiscreteInput, 7, None, None)),
            ("40001.15", addr(HoldingRegister, 0, Some(15), None)),
        ];
        for (text, want) in table {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn bad_addresses_say_what_is_wrong() {
        let table = [
            ("xx:1", "unknown table `xx` (hr, ir, co or di)"),
            ("hr:abc", "the address is not a number"),
            ("hr:65536", "the address is above 65535"),
            ("hr:1.16", "a register bit is 0 to 15"),
            ("co:1.2", "coils and discrete inputs have no bits"),
            ("hr:1:u128", "unknown type `u128`"),
            ("hr:1:u32:x", "too many `:`"),
            ("4001", "a Modicon address has 5 or 6 digits"),
            ("50001", "a Modicon address starts with 0, 1, 3 or 4"),
            ("40000", "Modicon addresses start at 1"),
            ("465537", "the address is above 65535"),
        ];
        for (text, reason) in table {
            assert_eq!(parse(text).map_err(|e| e.reason), Err(reason.to_owned()), "{text}");
        }
    }

    #[test]
    fn types_default_by_table_and_must_fit() {
        let p = |t: &str| parse(t).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p("hr:1").resolve_type(None), Ok(DataType::U16));
        assert_eq!(p("co:1").resolve_type(None), Ok(DataType::Bool));
        assert_eq!(p("hr:1.4").resolve_type(None), Ok(DataType::Bool));
        assert_eq!(p("hr:1:i32").resolve_type(None), Ok(DataType::I32));
        // a type given in the table form wins over the one in the text
        assert_eq!(p("hr:1:i32").resolve_type(Some(DataType::F32)), Ok(DataType::F32));
        assert_eq!(
            p("co:1").resolve_type(Some(DataType::U16)),
            Err("a coil or discrete input holds one bit: the type must be bool, not u16".into())
        );
        assert_eq!(
            p("hr:65534:u32").resolve_type(None),
            Ok(DataType::U32),
            "65534 and 65535"
        );
        assert_eq!(
            p("hr:65535:u32").resolve_type(None),
            Err("u32 at 65535 runs past the last register (65535)".into())
        );
        assert_eq!(DataType::F64.registers(), 4);
        assert_eq!(Table::Coil.max_per_request(), 2000);
        assert_eq!(Table::InputRegister.max_per_request(), 125);
    }
}
