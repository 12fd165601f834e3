//! Register words → tag values: word order, byte order, type, scale and offset. Pure.
//!
//! A 32- or 64-bit value spans 2 or 4 registers. `word_order = "big"` means the first
//! register holds the most significant word (ABCD, the Modbus convention); `"little"`
//! means the least significant word comes first (CDAB). `byte_order = "little"` swaps the
//! two bytes inside every register (BADC with big word order, DCBA with little).

use serde::Deserialize;

use super::address::DataType;
use crate::domain::tag::TagValue;

/// Which end comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Most significant first (the Modbus default).
    #[default]
    Big,
    /// Least significant first.
    Little,
}

/// How one tag's registers become its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Encoding {
    /// The stored type.
    pub data_type: DataType,
    /// Order of the registers of a 32/64-bit value.
    pub word_order: Order,
    /// Order of the two bytes in each register.
    pub byte_order: Order,
    /// A register bit to read (`hr:7.3`), instead of the whole register.
    pub bit: Option<u8>,
    /// Multiplied with the raw value.
    pub scale: f64,
    /// Added after scaling.
    pub offset: f64,
}

impl Encoding {
    /// A plain encoding of `data_type`: big-endian, no scaling.
    pub fn plain(data_type: DataType) -> Self {
        Encoding {
            data_type,
            word_order: Order::Big,
            byte_order: Order::Big,
            bit: None,
            scale: 1.0,
            offset: 0.0,
        }
    }

    fn scaled(&self) -> bool {
        self.scale != 1.0 || self.offset != 0.0
    }
}

/// The raw bytes of `words` in big-endian order, after the word and byte orders are undone.
fn bytes(words: &[u16], enc: &Encoding) -> Vec<u8> {
    let ordered: Vec<u16> = match enc.word_order {
        Order::Big => words.to_vec(),
        Order::Little => words.iter().rev().copied().collect(),
    };
    ordered
        .into_iter()
        .flat_map(|w| match enc.byte_order {
            Order::Big => w.to_be_bytes(),
            Order::Little => w.to_le_bytes(),
        })
        .collect()
}

/// The value of a tag from its registers (exactly `data_type.registers()` of them), or
/// `None` when they hold no usable value (too few words, NaN or infinity, an unsigned
/// 64-bit value above 2^63 − 1).
pub fn decode(words: &[u16], enc: &Encoding) -> Option<TagValue> {
    let n = usize::from(enc.data_type.registers());
    let words = words.get(..n)?;
    if let Some(bit) = enc.bit {
        return Some(TagValue::Bool((words[0] >> bit) & 1 == 1));
    }
    let b = bytes(words, enc);
    let arr2 = || -> Option<[u8; 2]> { b.get(..2)?.try_into().ok() };
    let arr4 = || -> Option<[u8; 4]> { b.get(..4)?.try_into().ok() };
    let arr8 = || -> Option<[u8; 8]> { b.get(..8)?.try_into().ok() };
    let raw = match enc.data_type {
        DataType::Bool => return Some(TagValue::Bool(u16::from_be_bytes(arr2()?) != 0)),
        DataType::U16 => Raw::Int(i64::from(u16::from_be_bytes(arr2()?))),
        DataType::I16 => Raw::Int(i64::from(i16::from_be_bytes(arr2()?))),
        DataType::U32 => Raw::Int(i64::from(u32::from_be_bytes(arr4()?))),
        DataType::I32 => Raw::Int(i64::from(i32::from_be_bytes(arr4()?))),
        DataType::U64 => Raw::Int(i64::try_from(u64::from_be_bytes(arr8()?)).ok()?),
        DataType::I64 => Raw::Int(i64::from_be_bytes(arr8()?)),
        DataType::F32 => Raw::Float(f64::from(f32::from_be_bytes(arr4()?))),
        DataType::F64 => Raw::Float(f64::from_be_bytes(arr8()?)),
    };
    let value = match raw {
        Raw::Int(i) if !enc.scaled() => TagValue::Int(i),
        Raw::Int(i) => TagValue::Float(i as f64 * enc.scale + enc.offset),
        Raw::Float(f) => TagValue::Float(f * enc.scale + enc.offset),
    };
    match value {
        TagValue::Float(f) if !f.is_finite() => None,
        v => Some(v),
    }
}

enum Raw {
    Int(i64),
    Float(f64),
}

/// The registers that hold `value` as a big-endian unsigned value of `words` registers
/// (what `ms5 simulate` serves). Values that do not fit are cut to the low bits, as a
/// PLC counter wraps.
pub fn encode_unsigned(value: u64, words: usize) -> Vec<u16> {
    (0..words).rev().map(|i| (value >> (16 * i)) as u16).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(data_type: DataType, word_order: Order, byte_order: Order) -> Encoding {
        Encoding {
            word_order,
            byte_order,
            ..Encoding::plain(data_type)
        }
    }

    #[test]
    fn word_and_byte_orders_are_undone() {
        use DataType::*;
        use Order::*;
        // 0x12345678 = 305419896 in the four layouts: ABCD, CDAB, BADC, DCBA
        let table = [
            (vec![0x1234, 0x5678], Big, Big),
            (vec![0x5678, 0x1234], Little, Big),
            (vec![0x3412, 0x7856], Big, Little),
            (vec![0x7856, 0x3412], Little, Little),
        ];
        for (words, wo, bo) in table {
            assert_eq!(
                decode(&words, &enc(U32, wo, bo)),
                Some(TagValue::Int(305_419_896)),
                "{words:x?} {wo:?} {bo:?}"
            );
        }
        // 1.5f32 = 0x3FC00000; little word order puts 0x0000 first
        assert_eq!(
            decode(&[0x0000, 0x3FC0], &enc(F32, Little, Big)),
            Some(TagValue::Float(1.5))
        );
        // 0x0102030405060708 in CDAB-by-words order: the last register first
        assert_eq!(
            decode(&[0x0708, 0x0506, 0x0304, 0x0102], &enc(U64, Little, Big)),
            Some(TagValue::Int(0x0102_0304_0506_0708))
        );
        // one register: the byte order still applies (0x3412 read little is 0x1234 = 4660)
        assert_eq!(decode(&[0x3412], &enc(U16, Big, Little)), Some(TagValue::Int(4660)));
    }

    #[test]
    fn types_signs_and_widths() {
        use DataType::*;
        let p = |t| Encoding::plain(t);
        let table: [(&[u16], DataType, Option<TagValue>); 12] = [
            (&[0xFFFF], U16, Some(TagValue::Int(65_535))),
            (&[0xFFFF], I16, Some(TagValue::Int(-1))),
            (&[0x8000], I16, Some(TagValue::Int(-32_768))),
            (&[0xFFFF, 0xFFFF], U32, Some(TagValue::Int(4_294_967_295))),
            (&[0xFFFF, 0xFFFE], I32, Some(TagValue::Int(-2))),
            (&[0x7FFF, 0xFFFF, 0xFFFF, 0xFFFF], U64, Some(TagValue::Int(i64::MAX))),
            // above 2^63 − 1: no usable value
            (&[0x8000, 0, 0, 0], U64, None),
            (&[0xFFFF, 0xFFFF, 0xFFFF, 0xFFFD], I64, Some(TagValue::Int(-3))),
            // 0x40490FDB is π as f32; 0x400921FB54442D18 π as f64
            (
                &[0x4049, 0x0FDB],
                F32,
                Some(TagValue::Float(f64::from(std::f32::consts::PI))),
            ),
            (
                &[0x4009, 0x21FB, 0x5444, 0x2D18],
                F64,
                Some(TagValue::Float(std::f64::consts::PI)),
            ),
            // NaN (0x7FC00000) and too few registers are no value
            (&[0x7FC0, 0x0000], F32, None),
            (&[0x0001], U32, None),
        ];
        for (words, ty, want) in table {
            assert_eq!(decode(words, &p(ty)), want, "{words:x?} as {ty:?}");
        }
        assert_eq!(decode(&[2], &p(Bool)), Some(TagValue::Bool(true)));
        assert_eq!(decode(&[0], &p(Bool)), Some(TagValue::Bool(false)));
    }

    #[test]
    fn register_bits_scale_and_offset() {
        let bit = |b| Encoding {
            bit: Some(b),
            ..Encoding::plain(DataType::Bool)
        };
        // 0b1000_0000_0000_0100: bits 2 and 15 are set
        assert_eq!(decode(&[0x8004], &bit(2)), Some(TagValue::Bool(true)));
        assert_eq!(decode(&[0x8004], &bit(3)), Some(TagValue::Bool(false)));
        assert_eq!(decode(&[0x8004], &bit(15)), Some(TagValue::Bool(true)));
        // 235 tenths of a degree minus 10: 235 × 0.1 − 10 = 13.5
        let scaled = Encoding {
            scale: 0.1,
            offset: -10.0,
            ..Encoding::plain(DataType::I16)
        };
        let Some(TagValue::Float(v)) = decode(&[235], &scaled) else {
            panic!("a scaled value is a float")
        };
        assert!((v - 13.5).abs() < 1e-9, "{v}");
        // an offset alone also makes it a float: 7 + 0.5
        let shifted = Encoding {
            offset: 0.5,
            ..Encoding::plain(DataType::U16)
        };
        assert_eq!(decode(&[7], &shifted), Some(TagValue::Float(7.5)));
    }

    #[test]
    fn unsigned_values_encode_big_endian_and_wrap() {
        assert_eq!(encode_unsigned(305_419_896, 2), vec![0x1234, 0x5678]);
        assert_eq!(encode_unsigned(7, 1), vec![7]);
        // 2^32 + 5 in two registers: the low 32 bits, 5
        assert_eq!(encode_unsigned((1 << 32) + 5, 2), vec![0, 5]);
        let words = encode_unsigned(4_294_967_290, 2);
        assert_eq!(
            decode(&words, &Encoding::plain(DataType::U32)),
            Some(TagValue::Int(4_294_967_290))
        );
    }
}
