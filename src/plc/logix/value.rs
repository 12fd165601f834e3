//! Read Tag replies (service 0x4C, reply 0xCC) as tag values: the data type code, then
//! the value. Atomic types (BOOL, SINT, INT, DINT, LINT and their unsigned kin, REAL,
//! LREAL, DWORD), CIP STRING (0xD0) and SHORT_STRING (0xDA), and the Logix STRING
//! structure (0x02A0 with handle 0x0FCE: a DINT length and 82 characters). A string is a
//! value only when it holds a whole number (product codes); anything else is refused.

use crate::domain::tag::TagValue;

/// The Read Tag service.
pub const READ_TAG: u8 = 0x4C;

/// The Read Tag request data: one element.
pub const ONE_ELEMENT: [u8; 2] = [1, 0];

/// Decodes a Read Tag reply's data; `bit` takes one bit of an integer.
pub fn decode(data: &[u8], bit: Option<u8>) -> Result<TagValue, String> {
    if data.len() < 2 {
        return Err("reply without a data type".into());
    }
    let kind = u16::from_le_bytes([data[0], data[1]]);
    let v = &data[2..];
    let need = |n: usize| {
        if v.len() < n {
            Err(format!("type {kind:#06x}: {} of {n} bytes", v.len()))
        } else {
            Ok(&v[..n])
        }
    };
    let int = |b: &[u8]| -> i64 {
        let mut x = [0u8; 8];
        x[..b.len()].copy_from_slice(b);
        i64::from_le_bytes(x)
    };
    let value = match kind {
        0xC1 => TagValue::Bool(need(1)?[0] != 0),
        0xC2 => TagValue::Int(i64::from(need(1)?[0] as i8)),
        0xC3 => TagValue::Int(i64::from(i16::from_le_bytes([need(2)?[0], v[1]]))),
        0xC4 => TagValue::Int(i64::from(i32::from_le_bytes([need(4)?[0], v[1], v[2], v[3]]))),
        0xC5 => TagValue::Int(int(need(8)?)),
        0xC6 => TagValue::Int(int(need(1)?)),
        0xC7 => TagValue::Int(int(need(2)?)),
        0xC8 | 0xD3 => TagValue::Int(int(need(4)?)),
        0xCA => TagValue::Float(f64::from(f32::from_le_bytes([need(4)?[0], v[1], v[2], v[3]]))),
        0xCB => {
            let b = need(8)?;
            TagValue::Float(f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
        }
        0xD0 => {
            let len = int(need(2)?) as usize;
            text(v.get(2..2 + len))?
        }
        0xDA => {
            let len = int(need(1)?) as usize;
            text(v.get(1..1 + len))?
        }
        0x02A0 => {
            let handle = int(need(2)?) as u16;
            if handle != 0x0FCE {
                return Err(format!("structure {handle:#06x} is not a STRING"));
            }
            let len = int(need(6)?.get(2..6).unwrap_or_default()) as usize;
            text(v.get(6..6 + len))?
        }
        other => return Err(format!("data type {other:#06x} is not supported")),
    };
    match (bit, value) {
        (None, v) => Ok(v),
        (Some(b), TagValue::Int(i)) => Ok(TagValue::Bool((i >> b) & 1 == 1)),
        (Some(_), _) => Err("a bit of a value that is not an integer".into()),
    }
}

fn text(bytes: Option<&[u8]>) -> Result<TagValue, String> {
    let bytes = bytes.ok_or("string cut short")?;
    let s = String::from_utf8_lossy(bytes);
    s.trim()
        .parse::<i64>()
        .map(TagValue::Int)
        .map_err(|_| format!("string `{s}` is not a whole number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_types_decode() {
        // (reply data, bit, value): worked from the little-endian bytes
        let table: [(&[u8], Option<u8>, TagValue); 13] = [
            (&[0xC1, 0, 1], None, TagValue::Bool(true)),
            (&[0xC1, 0, 0], None, TagValue::Bool(false)),
            (&[0xC2, 0, 0xFE], None, TagValue::Int(-2)),
            (&[0xC3, 0, 0x18, 0xFC], None, TagValue::Int(-1000)),
            (&[0xC4, 0, 0x40, 0x42, 0x0F, 0x00], None, TagValue::Int(1_000_000)),
            (&[0xC4, 0, 0xFF, 0xFF, 0xFF, 0xFF], None, TagValue::Int(-1)),
            (&[0xC8, 0, 0xFF, 0xFF, 0xFF, 0xFF], None, TagValue::Int(4_294_967_295)),
            (&[0xC5, 0, 0, 0, 0, 0, 1, 0, 0, 0], None, TagValue::Int(1 << 32)),
            (&[0xCA, 0, 0x00, 0x00, 0xC0, 0x3F], None, TagValue::Float(1.5)),
            (&[0xCB, 0, 0, 0, 0, 0, 0, 0, 0x04, 0x40], None, TagValue::Float(2.5)),
            // DINT 0b10_0000 = 32: bit 5 set, bit 4 clear
            (&[0xC4, 0, 0x20, 0, 0, 0], Some(5), TagValue::Bool(true)),
            (&[0xC4, 0, 0x20, 0, 0, 0], Some(4), TagValue::Bool(false)),
            (&[0xD3, 0, 0, 0, 0, 0x80], Some(31), TagValue::Bool(true)),
        ];
        for (data, bit, want) in table {
            assert_eq!(decode(data, bit), Ok(want), "{data:02x?}");
        }
    }

    #[test]
    fn strings_hold_whole_numbers_or_are_refused() {
        let mut logix = vec![0xA0, 0x02, 0xCE, 0x0F, 2, 0, 0, 0, b'4', b'2'];
        logix.resize(4 + 4 + 82, 0);
        assert_eq!(decode(&logix, None), Ok(TagValue::Int(42)));
        assert_eq!(decode(&[0xD0, 0, 3, 0, b' ', b'1', b'7'], None), Ok(TagValue::Int(17)));
        assert_eq!(decode(&[0xDA, 0, 1, b'9'], None), Ok(TagValue::Int(9)));
        // (data, part of the message)
        let table: [(&[u8], &str); 6] = [
            (&[0xD0, 0, 2, 0, b'a', b'b'], "not a whole number"),
            (&[0xD0, 0, 9, 0, b'1'], "cut short"),
            (&[0xA0, 0x02, 0x34, 0x12, 0, 0], "not a STRING"),
            (&[0xC4, 0, 1, 2], "2 of 4 bytes"),
            (&[0xCC, 0], "not supported"),
            (&[0xC4], "without a data type"),
        ];
        for (data, want) in table {
            match decode(data, None) {
                Err(e) => assert!(e.contains(want), "{data:02x?}: {e}"),
                Ok(v) => panic!("{data:02x?} decoded as {v:?}"),
            }
        }
        assert!(decode(&[0xCA, 0, 0, 0, 0xC0, 0x3F], Some(1)).is_err());
    }
}
