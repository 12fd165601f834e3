//! EtherNet/IP, shared by the Logix and PCCC sources: the encapsulation layer
//! ([`encap`]), CIP messages and the Multiple Service Packet ([`cip`]), CIP connections
//! ([`connection`]), an async session over TCP ([`client`]) and the polling loop every
//! EtherNet/IP endpoint runs ([`poll`]). The codecs are pure functions with table tests of
//! documented frames.

pub mod cip;
pub mod client;
pub mod connection;
pub mod encap;
pub mod poll;

use std::time::Duration;

/// Why an EtherNet/IP exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum EnipError {
    /// The TCP connection failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Closed on purpose: another replica runs the endpoint's lines now.
    #[error("another replica runs the endpoint's lines")]
    HandedOver,
    /// No reply in time (the connection is dropped, so a late reply is never read as the
    /// answer to the next request).
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The peer sent something that is not a valid message.
    #[error("malformed reply: {0}")]
    Malformed(&'static str),
    /// The encapsulation layer refused the command.
    #[error("encapsulation status {0:#06x}")]
    Encapsulation(u32),
    /// A CIP service failed.
    #[error("CIP status {status:#04x} ({}){}", cip::status_text(*status), ext_text(*ext))]
    Cip {
        /// General status.
        status: u8,
        /// First extended status word.
        ext: Option<u16>,
    },
}

fn ext_text(ext: Option<u16>) -> String {
    ext.map(|e| format!(", extended {e:#06x}")).unwrap_or_default()
}
