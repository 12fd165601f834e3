//! Tag values as they arrive from any source, before they mean anything.

use serde::{Deserialize, Serialize};

use super::EpochMs;

/// A PLC tag value. Sources convert their native types into one of these.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TagValue {
    /// A boolean (bits).
    Bool(bool),
    /// An integer (codes, counters).
    Int(i64),
    /// A floating-point number.
    Float(f64),
}

impl TagValue {
    /// The value as a non-negative whole number (counters, codes), if it is one.
    pub fn as_u64(self) -> Option<u64> {
        match self {
            TagValue::Int(i) => u64::try_from(i).ok(),
            TagValue::Float(f) if f >= 0.0 && f.fract() == 0.0 && f < 1.8e19 => Some(f as u64),
            _ => None,
        }
    }

    /// The value as a whole number, if it is one.
    pub fn as_i64(self) -> Option<i64> {
        match self {
            TagValue::Int(i) => Some(i),
            TagValue::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Some(f as i64),
            _ => None,
        }
    }

    /// The value as a bit: booleans, or the numbers 0 and 1.
    pub fn as_bool(self) -> Option<bool> {
        match self {
            TagValue::Bool(b) => Some(b),
            other => match other.as_i64() {
                Some(0) => Some(false),
                Some(1) => Some(true),
                _ => None,
            },
        }
    }

    /// The value as a number for storage (booleans as 0 and 1).
    pub fn as_f64(self) -> f64 {
        match self {
            TagValue::Bool(b) => f64::from(u8::from(b)),
            TagValue::Int(i) => i as f64,
            TagValue::Float(f) => f,
        }
    }
}

/// OPC UA-style quality of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    /// Trustworthy.
    #[default]
    Good,
    /// Applied, but counted: the source is not sure.
    Uncertain,
    /// Ignored and counted.
    Bad,
}

/// One tag value at one instant, from one source.
#[derive(Debug, Clone, PartialEq)]
pub struct TagUpdate {
    /// The tag name as the plant model spells it.
    pub tag: String,
    /// The value.
    pub value: TagValue,
    /// Source timestamp.
    pub ts: EpochMs,
    /// Quality reported by the source.
    pub quality: Quality,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_accept_only_exact_values() {
        assert_eq!(TagValue::Int(5).as_u64(), Some(5));
        assert_eq!(TagValue::Int(-5).as_u64(), None);
        assert_eq!(TagValue::Float(5.0).as_u64(), Some(5));
        assert_eq!(TagValue::Float(5.5).as_u64(), None);
        assert_eq!(TagValue::Bool(true).as_u64(), None);
        assert_eq!(TagValue::Float(f64::NAN).as_i64(), None);
        assert_eq!(TagValue::Int(1).as_bool(), Some(true));
        assert_eq!(TagValue::Int(0).as_bool(), Some(false));
        assert_eq!(TagValue::Int(2).as_bool(), None);
        assert_eq!(TagValue::Bool(true).as_f64(), 1.0);
    }
}
