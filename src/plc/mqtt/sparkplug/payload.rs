//! The Sparkplug B payload (Eclipse Tahu's `sparkplug_b.proto`, `org.eclipse.tahu.protobuf.Payload`),
//! written out as `prost` derives: only what a host application reads (metrics with their
//! names, aliases, timestamps, types, null flags, `Quality` properties and scalar values) and
//! what it sends (a rebirth request). Fields not declared here (data sets, templates, metadata,
//! extensions) are skipped by the decoder, so any valid payload decodes. No `protoc` needed.

use prost::Message;

use crate::domain::tag::{Quality, TagValue};

/// A Sparkplug B message body.
#[derive(Clone, PartialEq, Message)]
pub struct Payload {
    /// Time the message was made, ms since the epoch (UTC).
    #[prost(uint64, optional, tag = "1")]
    pub timestamp: Option<u64>,
    /// The metrics.
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<Metric>,
    /// Sequence number, 0–255 (every message of an edge node but NDEATH).
    #[prost(uint64, optional, tag = "3")]
    pub seq: Option<u64>,
    /// Optional UUID of the payload's format.
    #[prost(string, optional, tag = "4")]
    pub uuid: Option<String>,
    /// Optional opaque body.
    #[prost(bytes = "vec", optional, tag = "5")]
    pub body: Option<Vec<u8>>,
}

/// One metric of a payload.
#[derive(Clone, PartialEq, Message)]
pub struct Metric {
    /// Name (in births; data may carry only the alias).
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// Alias given in the birth certificate.
    #[prost(uint64, optional, tag = "2")]
    pub alias: Option<u64>,
    /// Time of the value, ms since the epoch.
    #[prost(uint64, optional, tag = "3")]
    pub timestamp: Option<u64>,
    /// Data type ([`datatype`]); in births, often left out of data.
    #[prost(uint32, optional, tag = "4")]
    pub datatype: Option<u32>,
    /// A historical value (not the current one).
    #[prost(bool, optional, tag = "5")]
    pub is_historical: Option<bool>,
    /// Not to be stored.
    #[prost(bool, optional, tag = "6")]
    pub is_transient: Option<bool>,
    /// The value is null (unknown).
    #[prost(bool, optional, tag = "7")]
    pub is_null: Option<bool>,
    /// Properties (`Quality` among them).
    #[prost(message, optional, tag = "9")]
    pub properties: Option<PropertySet>,
    /// The value.
    #[prost(oneof = "MetricValue", tags = "10, 11, 12, 13, 14, 15, 16")]
    pub value: Option<MetricValue>,
}

/// A metric's value (the scalar members of the `value` oneof).
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum MetricValue {
    /// Int8/16/32 (two's complement in 32 bits), UInt8/16/32.
    #[prost(uint32, tag = "10")]
    IntValue(u32),
    /// Int64 (two's complement), UInt64, DateTime.
    #[prost(uint64, tag = "11")]
    LongValue(u64),
    /// Float.
    #[prost(float, tag = "12")]
    FloatValue(f32),
    /// Double.
    #[prost(double, tag = "13")]
    DoubleValue(f64),
    /// Boolean.
    #[prost(bool, tag = "14")]
    BooleanValue(bool),
    /// String, Text, UUID.
    #[prost(string, tag = "15")]
    StringValue(String),
    /// Bytes, File.
    #[prost(bytes = "vec", tag = "16")]
    BytesValue(Vec<u8>),
}

/// A metric's properties: keys and values side by side.
#[derive(Clone, PartialEq, Message)]
pub struct PropertySet {
    /// Names.
    #[prost(string, repeated, tag = "1")]
    pub keys: Vec<String>,
    /// Values, in the order of `keys`.
    #[prost(message, repeated, tag = "2")]
    pub values: Vec<PropertyValue>,
}

/// One property value (scalars only; nested sets are skipped).
#[derive(Clone, PartialEq, Message)]
pub struct PropertyValue {
    /// Data type.
    #[prost(uint32, optional, tag = "1")]
    pub r#type: Option<u32>,
    /// Null.
    #[prost(bool, optional, tag = "2")]
    pub is_null: Option<bool>,
    /// The value.
    #[prost(oneof = "PropertyScalar", tags = "3, 4, 5, 6, 7, 8")]
    pub value: Option<PropertyScalar>,
}

/// A property's scalar value.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum PropertyScalar {
    /// 8–32-bit integers.
    #[prost(uint32, tag = "3")]
    IntValue(u32),
    /// 64-bit integers.
    #[prost(uint64, tag = "4")]
    LongValue(u64),
    /// Float.
    #[prost(float, tag = "5")]
    FloatValue(f32),
    /// Double.
    #[prost(double, tag = "6")]
    DoubleValue(f64),
    /// Boolean.
    #[prost(bool, tag = "7")]
    BooleanValue(bool),
    /// String.
    #[prost(string, tag = "8")]
    StringValue(String),
}

/// Sparkplug B data type numbers (the ones with a tag value).
pub mod datatype {
    /// Int8.
    pub const INT8: u32 = 1;
    /// Int16.
    pub const INT16: u32 = 2;
    /// Int32.
    pub const INT32: u32 = 3;
    /// Int64.
    pub const INT64: u32 = 4;
    /// UInt8.
    pub const UINT8: u32 = 5;
    /// UInt16.
    pub const UINT16: u32 = 6;
    /// UInt32.
    pub const UINT32: u32 = 7;
    /// UInt64.
    pub const UINT64: u32 = 8;
    /// Float.
    pub const FLOAT: u32 = 9;
    /// Double.
    pub const DOUBLE: u32 = 10;
    /// Boolean.
    pub const BOOLEAN: u32 = 11;
    /// String.
    pub const STRING: u32 = 12;
}

/// The metric every NBIRTH and NDEATH carries: the birth/death sequence number.
pub const BD_SEQ: &str = "bdSeq";
/// The node control metric that asks an edge node for its births again.
pub const REBIRTH: &str = "Node Control/Rebirth";

/// A metric value as a tag value, read as `kind` (a [`datatype`]) says (the metric's own, or the one its
/// birth gave); `None` for types that are no tag value (strings, bytes) or a value that does
/// not fit its type.
pub fn tag_value(kind: Option<u32>, value: &MetricValue) -> Option<TagValue> {
    use self::datatype as t;
    Some(match (kind, value) {
        // Signed types travel as two's complement in the unsigned field: cut to the width.
        (Some(t::INT8), MetricValue::IntValue(v)) => TagValue::Int(i64::from(*v as u8 as i8)),
        (Some(t::INT16), MetricValue::IntValue(v)) => TagValue::Int(i64::from(*v as u16 as i16)),
        (Some(t::INT32), MetricValue::IntValue(v)) => TagValue::Int(i64::from(*v as i32)),
        (Some(t::INT64), MetricValue::LongValue(v)) => TagValue::Int(*v as i64),
        (Some(t::UINT8 | t::UINT16 | t::UINT32) | None, MetricValue::IntValue(v)) => TagValue::Int(i64::from(*v)),
        (Some(t::UINT64) | None, MetricValue::LongValue(v)) => TagValue::Int(i64::try_from(*v).ok()?),
        (Some(t::FLOAT) | None, MetricValue::FloatValue(v)) => TagValue::Float(f64::from(*v)),
        (Some(t::DOUBLE) | None, MetricValue::DoubleValue(v)) => TagValue::Float(*v),
        (Some(t::BOOLEAN) | None, MetricValue::BooleanValue(v)) => TagValue::Bool(*v),
        _ => return None,
    })
}

/// A metric's quality from its `Quality` property (192 good, 0 bad, 500 stale); a null
/// value is bad; no property is good.
pub fn quality(metric: &Metric) -> Quality {
    if metric.is_null == Some(true) {
        return Quality::Bad;
    }
    let Some(props) = &metric.properties else {
        return Quality::Good;
    };
    let code = props
        .keys
        .iter()
        .zip(&props.values)
        .find(|(k, _)| k.eq_ignore_ascii_case("quality"))
        .and_then(|(_, v)| match v.value {
            Some(PropertyScalar::IntValue(c)) => Some(i64::from(c as i32)),
            Some(PropertyScalar::LongValue(c)) => Some(c as i64),
            _ => None,
        });
    match code {
        None | Some(192) => Quality::Good,
        Some(0 | 500) => Quality::Bad,
        Some(_) => Quality::Uncertain,
    }
}

impl Payload {
    /// The `bdSeq` metric's value, if the payload has one.
    pub fn bd_seq(&self) -> Option<u64> {
        self.metrics
            .iter()
            .find(|m| m.name.as_deref() == Some(BD_SEQ))
            .and_then(|m| match m.value {
                Some(MetricValue::LongValue(v)) => Some(v),
                Some(MetricValue::IntValue(v)) => Some(u64::from(v)),
                _ => None,
            })
    }

    /// The NCMD body that asks an edge node to send its births again.
    pub fn rebirth_request(now_ms: u64) -> Payload {
        Payload {
            timestamp: Some(now_ms),
            metrics: vec![Metric {
                name: Some(REBIRTH.to_owned()),
                timestamp: Some(now_ms),
                datatype: Some(datatype::BOOLEAN),
                value: Some(MetricValue::BooleanValue(true)),
                ..Metric::default()
            }],
            ..Payload::default()
        }
    }

    /// Decodes a payload; `None` if it is no Sparkplug B payload.
    pub fn decode_bytes(bytes: &[u8]) -> Option<Payload> {
        Payload::decode(bytes).ok()
    }

    /// Encodes the payload.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode_to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_values_become_tag_values_by_their_type() {
        use MetricValue::*;
        // (datatype, value, tag value): signed types cut to their width, two's complement
        let table = [
            (Some(datatype::INT8), IntValue(0xFF), Some(TagValue::Int(-1))),
            (Some(datatype::INT16), IntValue(0xFFFE), Some(TagValue::Int(-2))),
            (Some(datatype::INT32), IntValue(0xFFFF_FFFD), Some(TagValue::Int(-3))),
            (Some(datatype::INT64), LongValue(u64::MAX), Some(TagValue::Int(-1))),
            (Some(datatype::UINT16), IntValue(65_535), Some(TagValue::Int(65_535))),
            (
                Some(datatype::UINT32),
                IntValue(u32::MAX),
                Some(TagValue::Int(4_294_967_295)),
            ),
            (Some(datatype::UINT64), LongValue(u64::MAX), None),
            (Some(datatype::UINT64), LongValue(7), Some(TagValue::Int(7))),
            (Some(datatype::FLOAT), FloatValue(1.5), Some(TagValue::Float(1.5))),
            (Some(datatype::DOUBLE), DoubleValue(2.25), Some(TagValue::Float(2.25))),
            (Some(datatype::BOOLEAN), BooleanValue(true), Some(TagValue::Bool(true))),
            (None, IntValue(5), Some(TagValue::Int(5))),
            (Some(datatype::STRING), StringValue("7".into()), None),
            (None, BytesValue(vec![1]), None),
            // the type says Boolean, the value is an integer: not trusted
            (Some(datatype::BOOLEAN), IntValue(1), None),
        ];
        for (dt, value, want) in table {
            assert_eq!(tag_value(dt, &value), want, "{dt:?} {value:?}");
        }
    }

    #[test]
    fn qualities_come_from_the_quality_property_and_null() {
        let with = |code: Option<u32>, null: bool| Metric {
            is_null: null.then_some(true),
            properties: code.map(|c| PropertySet {
                keys: vec!["Quality".into()],
                values: vec![PropertyValue {
                    r#type: Some(datatype::INT32),
                    value: Some(PropertyScalar::IntValue(c)),
                    ..PropertyValue::default()
                }],
            }),
            ..Metric::default()
        };
        let table = [
            (None, false, Quality::Good),
            (Some(192), false, Quality::Good),
            (Some(0), false, Quality::Bad),
            (Some(500), false, Quality::Bad),
            (Some(64), false, Quality::Uncertain),
            (None, true, Quality::Bad),
        ];
        for (code, null, want) in table {
            assert_eq!(quality(&with(code, null)), want, "{code:?} {null}");
        }
    }

    #[test]
    fn a_payload_survives_encoding_and_a_rebirth_request_says_rebirth() {
        let birth = Payload {
            timestamp: Some(1_000),
            seq: Some(0),
            metrics: vec![
                Metric {
                    name: Some(BD_SEQ.into()),
                    datatype: Some(datatype::INT64),
                    value: Some(MetricValue::LongValue(3)),
                    ..Metric::default()
                },
                Metric {
                    name: Some("Counters/Good".into()),
                    alias: Some(1),
                    datatype: Some(datatype::UINT32),
                    value: Some(MetricValue::IntValue(10)),
                    ..Metric::default()
                },
            ],
            ..Payload::default()
        };
        let back = Payload::decode_bytes(&birth.to_bytes());
        assert_eq!(back.as_ref(), Some(&birth));
        assert_eq!(back.and_then(|p| p.bd_seq()), Some(3));
        let ask = Payload::rebirth_request(5);
        assert_eq!(ask.metrics[0].name.as_deref(), Some(REBIRTH));
        assert_eq!(ask.metrics[0].value, Some(MetricValue::BooleanValue(true)));
        assert_eq!(Payload::decode_bytes(&[0xFF, 0xFF, 0xFF]), None);
    }
}
