//! CIP messages (CIP Vol. 1, 2-4): a request is service, path size in words, path, data; a
//! reply is service | 0x80, a reserved byte, the general status, the extended status words,
//! data. Also the Multiple Service Packet (service 0x0A to the Message Router), which
//! carries several requests in one message.

use super::EnipError;
use super::encap::u16_at;

/// Multiple Service Packet.
pub const MULTIPLE_SERVICE: u8 = 0x0A;
/// General status: an embedded service of a Multiple Service Packet failed.
pub const STATUS_EMBEDDED_ERROR: u8 = 0x1E;
/// The Message Router (class 2, instance 1), the target of a Multiple Service Packet.
pub const MESSAGE_ROUTER: [u8; 4] = [0x20, 0x02, 0x24, 0x01];

/// A CIP request: `service`, `path` (padded EPATH, an even number of bytes), `data`.
pub fn request(service: u8, path: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + path.len() + data.len());
    out.push(service);
    out.push((path.len() / 2) as u8);
    out.extend_from_slice(path);
    out.extend_from_slice(data);
    out
}

/// A CIP reply, borrowed from the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply<'a> {
    /// The reply service code (request | 0x80).
    pub service: u8,
    /// General status (0: success).
    pub status: u8,
    /// Extended status words.
    pub ext: Vec<u16>,
    /// Reply data.
    pub data: &'a [u8],
}

impl<'a> Reply<'a> {
    /// Reads a reply.
    pub fn parse(b: &'a [u8]) -> Result<Reply<'a>, EnipError> {
        if b.len() < 4 {
            return Err(EnipError::Malformed("CIP reply too short"));
        }
        let words = b[3] as usize;
        let data_at = 4 + 2 * words;
        if b.len() < data_at {
            return Err(EnipError::Malformed("CIP extended status cut short"));
        }
        let ext = (0..words).map(|i| u16_at(b, 4 + 2 * i)).collect();
        Ok(Reply {
            service: b[0],
            status: b[2],
            ext,
            data: &b[data_at..],
        })
    }

    /// The reply's status as an error, if it is not success.
    pub fn check(&self) -> Result<(), EnipError> {
        if self.status == 0 {
            Ok(())
        } else {
            Err(EnipError::Cip {
                status: self.status,
                ext: self.ext.first().copied(),
            })
        }
    }
}

/// What a general status code means (CIP Vol. 1, appendix B), for logs.
pub fn status_text(status: u8) -> &'static str {
    match status {
        0x00 => "success",
        0x01 => "connection failure",
        0x02 => "resource unavailable",
        0x03 => "invalid parameter value",
        0x04 => "path segment error (unknown tag or bad address)",
        0x05 => "path destination unknown (no such tag or instance)",
        0x06 => "partial transfer (reply too large)",
        0x08 => "service not supported",
        0x09 => "invalid attribute value",
        0x0C => "object state conflict",
        0x11 => "reply data too large",
        0x13 => "not enough data",
        0x15 => "too much data",
        0x1E => "embedded service error",
        0x26 => "path size invalid",
        0xFF => "general error",
        _ => "error",
    }
}

/// Multiple Service Packet request data: the number of requests, their offsets (from the
/// start of the count) and the requests.
pub fn multiple_service_data(requests: &[Vec<u8>]) -> Vec<u8> {
    let header = 2 + 2 * requests.len();
    let mut out = Vec::with_capacity(header + requests.iter().map(Vec::len).sum::<usize>());
    out.extend_from_slice(&(requests.len() as u16).to_le_bytes());
    let mut offset = header;
    for r in requests {
        out.extend_from_slice(&(offset as u16).to_le_bytes());
        offset += r.len();
    }
    for r in requests {
        out.extend_from_slice(r);
    }
    out
}

/// The bytes a Multiple Service Packet adds for each request it carries (its offset).
pub const MULTIPLE_SERVICE_PER_REQUEST: usize = 2;
/// The bytes of a Multiple Service Packet around its requests: service, path size, the
/// Message Router path, the count.
pub const MULTIPLE_SERVICE_OVERHEAD: usize = 2 + MESSAGE_ROUTER.len() + 2;
/// The bytes of its reply around the replies: service, reserved, status, ext size, count.
pub const MULTIPLE_REPLY_OVERHEAD: usize = 4 + 2;

/// The embedded replies of a Multiple Service Packet reply's data.
pub fn multiple_service_replies(data: &[u8]) -> Result<Vec<&[u8]>, EnipError> {
    if data.len() < 2 {
        return Err(EnipError::Malformed("multiple service reply too short"));
    }
    let count = u16_at(data, 0) as usize;
    if data.len() < 2 + 2 * count {
        return Err(EnipError::Malformed("multiple service offsets cut short"));
    }
    let offsets: Vec<usize> = (0..count).map(|i| u16_at(data, 2 + 2 * i) as usize).collect();
    let mut out = Vec::with_capacity(count);
    for (i, &start) in offsets.iter().enumerate() {
        let end = offsets.get(i + 1).copied().unwrap_or(data.len());
        out.push(
            data.get(start..end)
                .filter(|r| !r.is_empty())
                .ok_or(EnipError::Malformed("multiple service offset out of range"))?,
        );
    }
    Ok(out)
}

/// A logical path to `class`/`instance` (8-bit segments where they fit).
pub fn logical_path(class: u16, instance: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(8);
    for (kind, value) in [(0x20u8, class), (0x24u8, instance)] {
        if let Ok(v) = u8::try_from(value) {
            out.extend_from_slice(&[kind, v]);
        } else {
            out.extend_from_slice(&[kind | 1, 0]);
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_read_status_ext_and_data() {
        // (bytes, service, status, ext, data)
        let ok = [0xCC, 0, 0, 0, 0xC4, 0, 1, 0, 0, 0];
        let r = Reply::parse(&ok).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (r.service, r.status, r.ext.clone(), r.data),
            (0xCC, 0, vec![], &ok[4..])
        );
        assert!(r.check().is_ok());
        // Forward Open refused: status 1, one ext word 0x0109 (invalid connection size).
        let refused = [0xDB, 0, 0x01, 1, 0x09, 0x01, 0xAA];
        let r = Reply::parse(&refused).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.status, r.ext.clone(), r.data), (1, vec![0x0109], &[0xAA][..]));
        assert!(matches!(
            r.check(),
            Err(EnipError::Cip {
                status: 1,
                ext: Some(0x0109)
            })
        ));
        assert!(Reply::parse(&[0xCC, 0, 0]).is_err());
        assert!(Reply::parse(&[0xCC, 0, 1, 2, 0, 0]).is_err());
    }

    #[test]
    fn multiple_service_packets_round_trip() {
        // two requests of 3 and 2 bytes: count 2, offsets 6 and 9
        let data = multiple_service_data(&[vec![1, 2, 3], vec![4, 5]]);
        assert_eq!(data, [2, 0, 6, 0, 9, 0, 1, 2, 3, 4, 5]);
        let replies = multiple_service_replies(&data).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(replies, [&[1, 2, 3][..], &[4, 5][..]]);
        assert!(multiple_service_replies(&[2, 0, 6, 0]).is_err());
        assert!(multiple_service_replies(&[1, 0, 40, 0, 1]).is_err());
        assert_eq!(
            request(MULTIPLE_SERVICE, &MESSAGE_ROUTER, &[0, 0]),
            [0x0A, 2, 0x20, 0x02, 0x24, 0x01, 0, 0]
        );
    }

    #[test]
    fn logical_paths_use_8_or_16_bit_segments() {
        assert_eq!(logical_path(0x67, 1), [0x20, 0x67, 0x24, 0x01]);
        assert_eq!(logical_path(0x6B, 0x1234), [0x20, 0x6B, 0x25, 0x00, 0x34, 0x12]);
    }
}
