//! CIP connections (CIP Vol. 1, 3-5.5): Forward Open (service 0x54, connections of up to
//! 511 bytes), Large Forward Open (0x5B, up to 65,535; Logix offers 4,002) and Forward
//! Close (0x4E), all sent unconnected to the Connection Manager (class 6, instance 1).
//! MS5 opens one class 3 (explicit messaging) connection per endpoint.

use super::EnipError;
use super::encap::{u16_at, u32_at};

/// Forward Open.
pub const FORWARD_OPEN: u8 = 0x54;
/// Large Forward Open.
pub const LARGE_FORWARD_OPEN: u8 = 0x5B;
/// Forward Close.
pub const FORWARD_CLOSE: u8 = 0x4E;
/// The Connection Manager's path.
pub const CONNECTION_MANAGER: [u8; 4] = [0x20, 0x06, 0x24, 0x01];
/// The connection size of the large connection MS5 asks for first.
pub const LARGE_SIZE: u16 = 4000;
/// The connection size of the small connection it falls back to.
pub const SMALL_SIZE: u16 = 500;
/// Vendor id MS5 gives as originator.
pub const VENDOR: u16 = 0x1337;
/// Requested packet interval (µs): with the timeout multiplier, how long an idle connection
/// lives (2 s × 32 = 64 s).
const RPI_US: u32 = 2_000_000;
/// Timeout multiplier 3: × 32.
const TIMEOUT_MULTIPLIER: u8 = 3;
/// Transport class 3, application triggered, server.
const TRANSPORT: u8 = 0xA3;

/// What identifies a connection to the Connection Manager (echoed by Forward Close).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Triad {
    /// Connection serial number.
    pub serial: u16,
    /// Originator vendor id.
    pub vendor: u16,
    /// Originator serial number.
    pub originator: u32,
}

/// Network connection parameters of a point-to-point, variable-size, low-priority
/// connection of `size` bytes: 16 bits for Forward Open, 32 for Large Forward Open.
pub fn network_parameters(size: u16, large: bool) -> u32 {
    if large {
        // type point-to-point (bits 29-30 = 2), variable (bit 25), size in bits 0-15
        (2 << 29) | (1 << 25) | u32::from(size)
    } else {
        // type point-to-point (bits 13-14 = 2), variable (bit 9), size in bits 0-8
        (2 << 13) | (1 << 9) | u32::from(size & 0x01FF)
    }
}

/// The request data of a (Large) Forward Open for a connection of `size` bytes to the
/// Message Router behind `route` (port segments, e.g. `[1, 0]`: backplane, slot 0);
/// `t_o_id` is the id the target is to send with.
pub fn forward_open_data(large: bool, size: u16, triad: Triad, t_o_id: u32, route: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(48 + route.len());
    out.push(0x0A); // priority/time tick
    out.push(0x0E); // timeout ticks
    out.extend_from_slice(&0u32.to_le_bytes()); // O→T id: the target picks it
    out.extend_from_slice(&t_o_id.to_le_bytes());
    out.extend_from_slice(&triad.serial.to_le_bytes());
    out.extend_from_slice(&triad.vendor.to_le_bytes());
    out.extend_from_slice(&triad.originator.to_le_bytes());
    out.extend_from_slice(&[TIMEOUT_MULTIPLIER, 0, 0, 0]);
    let params = network_parameters(size, large);
    for _ in 0..2 {
        out.extend_from_slice(&RPI_US.to_le_bytes());
        if large {
            out.extend_from_slice(&params.to_le_bytes());
        } else {
            out.extend_from_slice(&(params as u16).to_le_bytes());
        }
    }
    out.push(TRANSPORT);
    let path = connection_path(route);
    out.push((path.len() / 2) as u8);
    out.extend_from_slice(&path);
    out
}

/// The route to the controller followed by the Message Router, padded to whole words.
fn connection_path(route: &[u8]) -> Vec<u8> {
    let mut path = route.to_vec();
    if path.len() % 2 == 1 {
        path.push(0);
    }
    path.extend_from_slice(&[0x20, 0x02, 0x24, 0x01]);
    path
}

/// What a successful Forward Open reply gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// The id to send with (O→T).
    pub o_t_id: u32,
    /// The id the target sends with (T→O).
    pub t_o_id: u32,
    /// The connection's triad as the target echoed it.
    pub triad: Triad,
}

/// Reads the data of a successful (Large) Forward Open reply.
pub fn parse_forward_open_reply(data: &[u8]) -> Result<Opened, EnipError> {
    if data.len() < 26 {
        return Err(EnipError::Malformed("Forward Open reply too short"));
    }
    Ok(Opened {
        o_t_id: u32_at(data, 0),
        t_o_id: u32_at(data, 4),
        triad: Triad {
            serial: u16_at(data, 8),
            vendor: u16_at(data, 10),
            originator: u32_at(data, 12),
        },
    })
}

/// The request data of a Forward Close of the connection `triad` names.
pub fn forward_close_data(triad: Triad, route: &[u8]) -> Vec<u8> {
    let mut out = vec![0x0A, 0x0E];
    out.extend_from_slice(&triad.serial.to_le_bytes());
    out.extend_from_slice(&triad.vendor.to_le_bytes());
    out.extend_from_slice(&triad.originator.to_le_bytes());
    let path = connection_path(route);
    out.push((path.len() / 2) as u8);
    out.push(0);
    out.extend_from_slice(&path);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRIAD: Triad = Triad {
        serial: 0x0102,
        vendor: VENDOR,
        originator: 0x0A0B_0C0D,
    };

    #[test]
    fn network_parameters_are_the_usual_words() {
        // 500 bytes small: 0x4000 | 0x0200 | 0x01F4 = 0x43F4 (what RSLinx sends)
        assert_eq!(network_parameters(500, false), 0x43F4);
        // 4000 bytes large: 0x4000_0000 | 0x0200_0000 | 0x0FA0 = 0x4200_0FA0
        assert_eq!(network_parameters(4000, true), 0x4200_0FA0);
    }

    #[test]
    fn forward_open_requests_have_the_documented_layout() {
        let small = forward_open_data(false, 500, TRIAD, 0x5566_7788, &[1, 0]);
        let want: Vec<u8> = [
            &[0x0A, 0x0E][..],
            &[0, 0, 0, 0],             // O→T id
            &[0x88, 0x77, 0x66, 0x55], // T→O id
            &[0x02, 0x01, 0x37, 0x13], // serial, vendor
            &[0x0D, 0x0C, 0x0B, 0x0A], // originator serial
            &[3, 0, 0, 0],             // multiplier, reserved
            &[0x80, 0x84, 0x1E, 0x00], // O→T RPI 2,000,000 µs
            &[0xF4, 0x43],             // O→T parameters
            &[0x80, 0x84, 0x1E, 0x00],
            &[0xF4, 0x43],
            &[0xA3],                         // class 3, application trigger
            &[3, 1, 0, 0x20, 0x02, 0x24, 1], // 3 words: port 1 slot 0, Message Router
        ]
        .concat();
        assert_eq!(small, want);
        let large = forward_open_data(true, 4000, TRIAD, 1, &[1, 0]);
        // the parameters grow to 32 bits each: 4 bytes longer
        assert_eq!(large.len(), small.len() + 4);
        assert_eq!(&large[26..30], &[0xA0, 0x0F, 0x00, 0x42]);
        // an odd route (one port segment with a 1-byte link) is padded to a word
        let odd = forward_open_data(false, 500, TRIAD, 1, &[1]);
        assert_eq!(&odd[odd.len() - 7..], &[3, 1, 0, 0x20, 0x02, 0x24, 1]);
    }

    #[test]
    fn forward_open_replies_and_close() {
        let mut reply = vec![0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x02, 0x01, 0x37, 0x13];
        reply.extend_from_slice(&[0x0D, 0x0C, 0x0B, 0x0A]);
        reply.extend_from_slice(&[0; 10]); // APIs, reply size, reserved
        let opened = parse_forward_open_reply(&reply).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            opened,
            Opened {
                o_t_id: 0x4433_2211,
                t_o_id: 0x8877_6655,
                triad: TRIAD
            }
        );
        assert!(parse_forward_open_reply(&reply[..20]).is_err());
        assert_eq!(
            forward_close_data(TRIAD, &[1, 0]),
            [
                0x0A, 0x0E, 0x02, 0x01, 0x37, 0x13, 0x0D, 0x0C, 0x0B, 0x0A, 3, 0, 1, 0, 0x20, 0x02, 0x24, 1
            ]
        );
    }
}
