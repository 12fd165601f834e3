//! PCCC over EtherNet/IP: the Execute PCCC service (0x4B) of the PCCC object (class 0x67,
//! instance 1) carries a requester id and a PCCC command. MS5 sends the protected typed
//! logical read with three address fields (CMD 0x0F, FNC 0xA2); the reply is CMD 0x4F with
//! STS, and when STS is 0xF0 an EXT STS byte saying what went wrong.

use super::address::{FileType, PcccAddress};
use crate::domain::tag::TagValue;
use crate::plc::enip::encap::u16_at;

/// Execute PCCC.
pub const EXECUTE_PCCC: u8 = 0x4B;
/// The PCCC object's path.
pub const PCCC_OBJECT: [u8; 4] = [0x20, 0x67, 0x24, 0x01];
/// Most data bytes one typed read asks for (the SLC's limit is about 240 with headers).
pub const MAX_READ_BYTES: usize = 236;
/// Command: protected typed logical read/write family.
const CMD: u8 = 0x0F;
/// Function: protected typed logical read with three address fields.
const FNC_READ: u8 = 0xA2;

/// One typed read: `count` elements of a file from `element`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadPlan {
    /// File type.
    pub file_type: FileType,
    /// File number.
    pub file: u16,
    /// First element.
    pub element: u16,
    /// Number of elements.
    pub count: u16,
}

impl ReadPlan {
    /// The bytes it asks for.
    pub fn bytes(&self) -> usize {
        usize::from(self.count) * self.file_type.element_bytes()
    }
}

/// Reads for these addresses: one per run of nearby elements of a file, each at most
/// [`MAX_READ_BYTES`] long. Returns the reads and, per address, its read's index.
pub fn plan(addresses: &[PcccAddress]) -> (Vec<ReadPlan>, Vec<usize>) {
    let mut order: Vec<usize> = (0..addresses.len()).collect();
    order.sort_by_key(|&i| (addresses[i].file_type, addresses[i].file, addresses[i].element));
    let mut reads: Vec<ReadPlan> = Vec::new();
    let mut of = vec![0; addresses.len()];
    for i in order {
        let a = addresses[i];
        let fits = reads.last().is_some_and(|r| {
            r.file_type == a.file_type
                && r.file == a.file
                && (usize::from(a.element - r.element) + 1) * a.file_type.element_bytes() <= MAX_READ_BYTES
        });
        if fits {
            if let Some(r) = reads.last_mut() {
                r.count = a.element - r.element + 1;
            }
        } else {
            reads.push(ReadPlan {
                file_type: a.file_type,
                file: a.file,
                element: a.element,
                count: 1,
            });
        }
        of[i] = reads.len() - 1;
    }
    (reads, of)
}

/// An address field: one byte below 255, else 0xFF and two bytes.
fn field(out: &mut Vec<u8>, v: u16) {
    match u8::try_from(v) {
        Ok(b) if b < 0xFF => out.push(b),
        _ => {
            out.push(0xFF);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// The Execute PCCC request data of a typed read: requester id (vendor, serial), then the
/// PCCC command with transaction number `tns`.
pub fn read_request(vendor: u16, serial: u32, tns: u16, read: &ReadPlan) -> Vec<u8> {
    let mut out = vec![7];
    out.extend_from_slice(&vendor.to_le_bytes());
    out.extend_from_slice(&serial.to_le_bytes());
    out.extend_from_slice(&[CMD, 0]);
    out.extend_from_slice(&tns.to_le_bytes());
    out.push(FNC_READ);
    out.push(read.bytes() as u8);
    field(&mut out, read.file);
    out.push(read.file_type.code());
    field(&mut out, read.element);
    field(&mut out, 0);
    out
}

/// A PCCC error: STS, and EXT STS when STS is 0xF0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcccStatus {
    /// STS.
    pub sts: u8,
    /// EXT STS.
    pub ext: Option<u8>,
}

impl std::fmt::Display for PcccStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ext {
            Some(ext) => write!(f, "PCCC STS {:#04x} EXT STS {ext:#04x}: {}", self.sts, ext_text(ext)),
            None => write!(f, "PCCC STS {:#04x}: {}", self.sts, sts_text(self.sts)),
        }
    }
}

/// What an STS byte means (local errors in the low nibble, remote in the high).
pub fn sts_text(sts: u8) -> &'static str {
    match sts {
        0x01 => "destination node is out of buffer space",
        0x02 => "cannot guarantee delivery (link layer)",
        0x03 => "duplicate token holder detected",
        0x04 => "local port is disconnected",
        0x05 => "application layer timed out waiting for a response",
        0x06 => "duplicate node detected",
        0x07 => "station is offline",
        0x08 => "hardware fault",
        0x10 => "illegal command or format",
        0x20 => "host has a problem and will not communicate",
        0x30 => "remote node host is missing, disconnected or shut down",
        0x40 => "host could not complete the function due to a hardware fault",
        0x50 => "addressing problem or memory protect rungs",
        0x60 => "function not allowed due to command protection selection",
        0x70 => "processor is in program mode",
        0x80 => "compatibility mode file missing or communication zone problem",
        0x90 => "remote node cannot buffer the command",
        0xA0 | 0xC0 => "wait ACK (remote node busy)",
        0xB0 => "remote node problem due to download",
        0xF0 => "error code in EXT STS",
        _ => "unknown status",
    }
}

/// What an EXT STS byte means (for CMD 0x0F).
pub fn ext_text(ext: u8) -> &'static str {
    match ext {
        0x01 => "a field has an illegal value",
        0x02 => "fewer levels specified in the address than the minimum for any address",
        0x03 => "more levels specified in the address than the system supports",
        0x04 => "symbol not found",
        0x05 => "symbol is of improper format",
        0x06 => "address does not point to something usable (no such file or element)",
        0x07 => "file is the wrong size",
        0x08 => "cannot complete the request, the situation has changed",
        0x09 => "data or file is too large",
        0x0A => "transaction size plus word address is too large",
        0x0B => "access denied, improper privilege",
        0x0C => "condition cannot be generated, resource is not available",
        0x0D => "condition already exists, resource is already available",
        0x0E => "command cannot be executed",
        0x0F => "histogram overflow",
        0x10 => "no access",
        0x11 => "illegal data type",
        0x12 => "invalid parameter or invalid data",
        0x13 => "address reference exists to a deleted area",
        0x14 => "command execution failure for an unknown reason",
        0x15 => "data conversion error",
        0x16 => "scanner cannot communicate with a 1771 rack adapter",
        0x17 => "type mismatch",
        0x18 => "1771 module response was not valid",
        0x19 => "duplicated label",
        0x1A => "file is open; another node owns it",
        0x1B => "another node is the program owner",
        0x1E => "data table element protection violation",
        0x1F => "temporary internal problem",
        _ => "unknown extended status",
    }
}

/// Why a reply is not usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyError {
    /// Not a valid PCCC reply (the connection is not to be trusted).
    Malformed(&'static str),
    /// The PLC refused the command.
    Status(PcccStatus),
}

/// The data of an Execute PCCC reply (after the CIP reply header), checked against the
/// transaction number sent.
pub fn parse_reply(data: &[u8], tns: u16) -> Result<&[u8], ReplyError> {
    let id_len = usize::from(*data.first().ok_or(ReplyError::Malformed("empty PCCC reply"))?);
    let at = id_len;
    if id_len == 0 || data.len() < at + 4 {
        return Err(ReplyError::Malformed("PCCC reply too short"));
    }
    let (cmd, sts, got) = (data[at], data[at + 1], u16_at(data, at + 2));
    if cmd != CMD | 0x40 {
        return Err(ReplyError::Malformed("PCCC reply to another command"));
    }
    if got != tns {
        return Err(ReplyError::Malformed("PCCC reply to another transaction"));
    }
    match sts {
        0 => Ok(&data[at + 4..]),
        0xF0 => Err(ReplyError::Status(PcccStatus {
            sts,
            ext: Some(*data.get(at + 4).ok_or(ReplyError::Malformed("EXT STS missing"))?),
        })),
        _ => Err(ReplyError::Status(PcccStatus { sts, ext: None })),
    }
}

/// The value of `address` in the data of `read`.
pub fn value_of(address: &PcccAddress, read: &ReadPlan, data: &[u8]) -> Result<TagValue, String> {
    let size = read.file_type.element_bytes();
    let at = usize::from(address.element - read.element) * size + 2 * usize::from(address.word);
    let word = |at: usize| data.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let short = || format!("reply of {} bytes, {} asked", data.len(), read.bytes());
    if address.file_type == FileType::Float {
        let b = data.get(at..at + 4).ok_or_else(short)?;
        return Ok(TagValue::Float(f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))));
    }
    let w = word(at).ok_or_else(short)?;
    Ok(match (address.bit, address.file_type) {
        (Some(bit), _) => TagValue::Bool((w >> bit) & 1 == 1),
        (None, FileType::Bit) => TagValue::Int(i64::from(w)),
        (None, _) => TagValue::Int(i64::from(w as i16)),
    })
}

#[cfg(test)]
mod tests {
    use super::super::address::parse;
    use super::*;

    fn addrs(list: &[&str]) -> Vec<PcccAddress> {
        list.iter()
            .map(|a| parse(a).unwrap_or_else(|e| panic!("{e}")))
            .collect()
    }

    fn rp(file_type: FileType, file: u16, element: u16, count: u16) -> ReadPlan {
        ReadPlan {
            file_type,
            file,
            element,
            count,
        }
    }

    #[test]
    fn reads_cover_runs_of_a_file_within_the_limit() {
        use FileType::*;
        // (addresses, reads, read of each address)
        let (reads, of) = plan(&addrs(&[
            "N7:5", "N7:0", "B3:0/5", "N7:117", "N7:118", "T4:0.ACC", "T4:0.PRE",
        ]));
        // N7:0..117 is 118 × 2 = 236 bytes: one read; N7:118 would make 238: a second.
        assert_eq!(
            reads,
            [
                rp(Bit, 3, 0, 1),
                rp(Timer, 4, 0, 1),
                rp(Integer, 7, 0, 118),
                rp(Integer, 7, 118, 1)
            ]
        );
        assert_eq!(of, [2, 2, 0, 2, 3, 1, 1]);
        // timers: 39 × 6 = 234 fit, the 40th does not
        let (reads, _) = plan(&addrs(&["T4:0.ACC", "T4:38.ACC", "T4:39.ACC"]));
        assert_eq!(reads, [rp(Timer, 4, 0, 39), rp(Timer, 4, 39, 1)]);
        // floats of two files never share a read
        let (reads, _) = plan(&addrs(&["F8:0", "F9:0"]));
        assert_eq!(reads, [rp(Float, 8, 0, 1), rp(Float, 9, 0, 1)]);
    }

    #[test]
    fn typed_read_requests_have_the_documented_layout() {
        // N7:0, 3 elements: requester id (7, vendor, serial), CMD 0x0F, STS 0, TNS,
        // FNC 0xA2, 6 bytes, file 7, type 0x89, element 0, sub-element 0
        let r = read_request(0x1337, 0x0102_0304, 0x0A0B, &rp(FileType::Integer, 7, 0, 3));
        assert_eq!(
            r,
            [7, 0x37, 0x13, 4, 3, 2, 1, 0x0F, 0, 0x0B, 0x0A, 0xA2, 6, 7, 0x89, 0, 0]
        );
        // element 300 takes three bytes: 0xFF then 300 little-endian
        let r = read_request(0x1337, 1, 1, &rp(FileType::Counter, 5, 300, 1));
        assert_eq!(&r[11..], [0xA2, 6, 5, 0x87, 0xFF, 0x2C, 0x01, 0]);
    }

    #[test]
    fn replies_give_data_or_the_decoded_status() {
        let id = [7u8, 0x37, 0x13, 1, 0, 0, 0];
        let ok = [&id[..], &[0x4F, 0, 9, 0, 0x2A, 0]].concat();
        assert_eq!(parse_reply(&ok, 9), Ok(&[0x2A, 0][..]));
        // STS 0xF0 with EXT STS 0x06: no such file or element
        let ext = [&id[..], &[0x4F, 0xF0, 9, 0, 0x06]].concat();
        let err = parse_reply(&ext, 9);
        assert_eq!(
            err,
            Err(ReplyError::Status(PcccStatus {
                sts: 0xF0,
                ext: Some(0x06)
            }))
        );
        if let Err(ReplyError::Status(s)) = err {
            assert_eq!(
                s.to_string(),
                "PCCC STS 0xf0 EXT STS 0x06: address does not point to something usable (no such file or element)"
            );
        }
        let remote = [&id[..], &[0x4F, 0x10, 9, 0]].concat();
        assert_eq!(
            parse_reply(&remote, 9).map_err(|e| match e {
                ReplyError::Status(s) => s.to_string(),
                ReplyError::Malformed(m) => m.to_owned(),
            }),
            Err("PCCC STS 0x10: illegal command or format".to_owned())
        );
        assert_eq!(
            parse_reply(&ok, 8),
            Err(ReplyError::Malformed("PCCC reply to another transaction"))
        );
        assert!(parse_reply(&[7, 1, 2], 9).is_err());
        assert!(parse_reply(&[&id[..], &[0x4F, 0xF0, 9, 0]].concat(), 9).is_err());
    }

    #[test]
    fn values_come_from_their_place_in_the_data() {
        // N7:0..2 = 5, −2, 7; T4:0 = control 0x2000 (DN), PRE 100, ACC 42; B3:0 = 0x0020
        let n = [5, 0, 0xFE, 0xFF, 7, 0];
        let t = [0x00, 0x20, 100, 0, 42, 0];
        let read_n = rp(FileType::Integer, 7, 0, 3);
        let read_t = rp(FileType::Timer, 4, 0, 1);
        let read_b = rp(FileType::Bit, 3, 0, 1);
        let read_f = rp(FileType::Float, 8, 0, 1);
        let table: [(&str, &ReadPlan, &[u8], TagValue); 9] = [
            ("N7:0", &read_n, &n, TagValue::Int(5)),
            ("N7:1", &read_n, &n, TagValue::Int(-2)),
            ("N7:2/0", &read_n, &n, TagValue::Bool(true)),
            ("T4:0.PRE", &read_t, &t, TagValue::Int(100)),
            ("T4:0.ACC", &read_t, &t, TagValue::Int(42)),
            ("T4:0.DN", &read_t, &t, TagValue::Bool(true)),
            ("B3:0/5", &read_b, &[0x20, 0], TagValue::Bool(true)),
            ("B3:0/4", &read_b, &[0x20, 0], TagValue::Bool(false)),
            ("F8:0", &read_f, &[0, 0, 0xC0, 0x3F], TagValue::Float(1.5)),
        ];
        for (text, read, data, want) in table {
            let a = parse(text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(value_of(&a, read, data), Ok(want), "{text}");
        }
        let a = parse("N7:2").unwrap_or_else(|e| panic!("{e}"));
        assert!(value_of(&a, &read_n, &n[..4]).is_err());
    }
}
