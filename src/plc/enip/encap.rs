//! The EtherNet/IP encapsulation layer (CIP Vol. 2, chapter 2): the 24-byte header every
//! TCP message starts with, and the common packet format (CPF) items that carry CIP
//! messages inside `SendRRData` (unconnected) and `SendUnitData` (connected).

use super::EnipError;

/// `RegisterSession`: opens a session; the reply carries its handle.
pub const REGISTER_SESSION: u16 = 0x0065;
/// `UnRegisterSession`: closes it (no reply).
pub const UNREGISTER_SESSION: u16 = 0x0066;
/// `SendRRData`: an unconnected request and its reply.
pub const SEND_RR_DATA: u16 = 0x006F;
/// `SendUnitData`: a message on an open CIP connection.
pub const SEND_UNIT_DATA: u16 = 0x0070;

/// Length of the encapsulation header.
pub const HEADER_LEN: usize = 24;

/// CPF item: null address (unconnected).
pub const ITEM_NULL: u16 = 0x0000;
/// CPF item: connected address (the connection id).
pub const ITEM_CONNECTED_ADDRESS: u16 = 0x00A1;
/// CPF item: connected data (sequence count + CIP message).
pub const ITEM_CONNECTED_DATA: u16 = 0x00B1;
/// CPF item: unconnected data (a CIP message).
pub const ITEM_UNCONNECTED_DATA: u16 = 0x00B2;

/// The encapsulation header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Command code.
    pub command: u16,
    /// Length of the data after the header.
    pub length: u16,
    /// Session handle (0 before `RegisterSession`).
    pub session: u32,
    /// Status (0: success).
    pub status: u32,
    /// Echoed by the target.
    pub context: [u8; 8],
}

impl Header {
    /// Reads a header from its 24 bytes.
    pub fn parse(b: &[u8]) -> Result<Header, EnipError> {
        if b.len() < HEADER_LEN {
            return Err(EnipError::Malformed("encapsulation header too short"));
        }
        let mut context = [0; 8];
        context.copy_from_slice(&b[12..20]);
        Ok(Header {
            command: u16_at(b, 0),
            length: u16_at(b, 2),
            session: u32_at(b, 4),
            status: u32_at(b, 8),
            context,
        })
    }
}

/// A whole encapsulated message: header and `data`.
pub fn frame(command: u16, session: u32, context: [u8; 8], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + data.len());
    out.extend_from_slice(&command.to_le_bytes());
    out.extend_from_slice(&(data.len() as u16).to_le_bytes());
    out.extend_from_slice(&session.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&context);
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(data);
    out
}

/// The data of `RegisterSession`: protocol version 1, no options.
pub fn register_session_data() -> [u8; 4] {
    [1, 0, 0, 0]
}

/// The data of `SendRRData` carrying one unconnected CIP message.
pub fn rr_data(timeout_s: u16, cip: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + cip.len());
    out.extend_from_slice(&0u32.to_le_bytes()); // interface handle: CIP
    out.extend_from_slice(&timeout_s.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&ITEM_NULL.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&ITEM_UNCONNECTED_DATA.to_le_bytes());
    out.extend_from_slice(&(cip.len() as u16).to_le_bytes());
    out.extend_from_slice(cip);
    out
}

/// The data of `SendUnitData`: the message `cip` with sequence count `seq` on the
/// connection the target knows as `connection`.
pub fn unit_data(connection: u32, seq: u16, cip: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(22 + cip.len());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&ITEM_CONNECTED_ADDRESS.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&connection.to_le_bytes());
    out.extend_from_slice(&ITEM_CONNECTED_DATA.to_le_bytes());
    out.extend_from_slice(&((cip.len() + 2) as u16).to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(cip);
    out
}

/// One CPF item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item<'a> {
    /// Item type.
    pub kind: u16,
    /// Item data.
    pub data: &'a [u8],
}

/// The CPF items of `SendRRData`/`SendUnitData` data (after interface handle and timeout).
pub fn items(data: &[u8]) -> Result<Vec<Item<'_>>, EnipError> {
    if data.len() < 8 {
        return Err(EnipError::Malformed("CPF too short"));
    }
    let count = u16_at(data, 6) as usize;
    let mut at = 8;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        if data.len() < at + 4 {
            return Err(EnipError::Malformed("CPF item header cut short"));
        }
        let (kind, len) = (u16_at(data, at), u16_at(data, at + 2) as usize);
        at += 4;
        let body = data
            .get(at..at + len)
            .ok_or(EnipError::Malformed("CPF item cut short"))?;
        out.push(Item { kind, data: body });
        at += len;
    }
    Ok(out)
}

/// The CIP reply inside a `SendRRData` reply.
pub fn unconnected_reply(data: &[u8]) -> Result<&[u8], EnipError> {
    items(data)?
        .into_iter()
        .find(|i| i.kind == ITEM_UNCONNECTED_DATA)
        .map(|i| i.data)
        .ok_or(EnipError::Malformed("no unconnected data item"))
}

/// The connection id, sequence count and CIP reply inside a `SendUnitData` reply.
pub fn connected_reply(data: &[u8]) -> Result<(u32, u16, &[u8]), EnipError> {
    let items = items(data)?;
    let id = items
        .iter()
        .find(|i| i.kind == ITEM_CONNECTED_ADDRESS && i.data.len() == 4)
        .map(|i| u32_at(i.data, 0))
        .ok_or(EnipError::Malformed("no connected address item"))?;
    let body = items
        .iter()
        .find(|i| i.kind == ITEM_CONNECTED_DATA && i.data.len() >= 2)
        .map(|i| i.data)
        .ok_or(EnipError::Malformed("no connected data item"))?;
    Ok((id, u16_at(body, 0), &body[2..]))
}

pub(crate) fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_session_is_the_documented_28_bytes() {
        // CIP Vol. 2, 2-4.4: command 0x65, length 4, handle 0, status 0, context, options 0,
        // then protocol version 1 and options 0.
        let f = frame(REGISTER_SESSION, 0, *b"ms5ctx01", &register_session_data());
        let want: Vec<u8> = [
            &[0x65, 0x00, 0x04, 0x00][..],
            &[0; 8],
            b"ms5ctx01",
            &[0; 4],
            &[0x01, 0x00, 0x00, 0x00],
        ]
        .concat();
        assert_eq!(f, want);
        let h = Header::parse(&f).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((h.command, h.length, h.session, h.status), (0x65, 4, 0, 0));
        assert!(Header::parse(&f[..23]).is_err());
    }

    #[test]
    fn rr_and_unit_data_carry_their_items() {
        // SendRRData: handle 0, timeout 5, 2 items: null (0,0), unconnected data (0xB2, 2).
        let rr = rr_data(5, &[0x0E, 0x00]);
        assert_eq!(rr, [0, 0, 0, 0, 5, 0, 2, 0, 0, 0, 0, 0, 0xB2, 0, 2, 0, 0x0E, 0x00]);
        assert_eq!(unconnected_reply(&rr).ok(), Some(&[0x0E, 0x00][..]));
        // SendUnitData: address item 0xA1 with the connection id, data item 0xB1 with the
        // sequence count first.
        let ud = unit_data(0x1122_3344, 7, &[0x4C]);
        assert_eq!(
            ud,
            [
                0, 0, 0, 0, 0, 0, 2, 0, 0xA1, 0, 4, 0, 0x44, 0x33, 0x22, 0x11, 0xB1, 0, 3, 0, 7, 0, 0x4C
            ]
        );
        assert_eq!(connected_reply(&ud).ok(), Some((0x1122_3344, 7, &[0x4C][..])));
    }

    #[test]
    fn cut_short_items_are_errors() {
        let rr = rr_data(5, &[1, 2, 3, 4]);
        for cut in [4, 9, 13, rr.len() - 1] {
            assert!(items(&rr[..cut]).is_err(), "cut at {cut}");
        }
        assert!(unconnected_reply(&unit_data(1, 1, &[1])).is_err());
    }
}
