//! One EtherNet/IP session over TCP: registered at connect, unconnected requests through
//! `SendRRData`, and optionally one class 3 connection (Large Forward Open of
//! [`LARGE_SIZE`] bytes, else Forward Open of [`SMALL_SIZE`]) for connected requests
//! through `SendUnitData`. Every exchange has a deadline; after any error the caller drops
//! the session and connects again.

use std::time::Duration;

use rand::RngExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::EnipError;
use super::cip::{Reply, request};
use super::connection::{
    CONNECTION_MANAGER, FORWARD_CLOSE, FORWARD_OPEN, LARGE_FORWARD_OPEN, LARGE_SIZE, Opened, SMALL_SIZE, Triad, VENDOR,
    forward_close_data, forward_open_data, parse_forward_open_reply,
};
use super::encap::{
    HEADER_LEN, Header, REGISTER_SESSION, SEND_RR_DATA, SEND_UNIT_DATA, UNREGISTER_SESSION, connected_reply, frame,
    register_session_data, rr_data, unconnected_reply, unit_data,
};

/// Longest message MS5 accepts from a peer (a large connection's reply with headers).
const MAX_REPLY: usize = 8192;

/// An open class 3 connection.
#[derive(Debug, Clone, Copy)]
struct Connection {
    opened: Opened,
    size: u16,
    seq: u16,
}

/// A registered session.
pub struct Session {
    stream: TcpStream,
    handle: u32,
    timeout: Duration,
    connection: Option<Connection>,
    route: Vec<u8>,
}

impl Session {
    /// Connects to `address` (`host:port`) and registers a session, each step within
    /// `timeout`.
    pub async fn connect(address: &str, timeout: Duration) -> Result<Session, EnipError> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(address))
            .await
            .map_err(|_| EnipError::Timeout(timeout))??;
        stream.set_nodelay(true)?;
        let mut session = Session {
            stream,
            handle: 0,
            timeout,
            connection: None,
            route: Vec::new(),
        };
        let (header, _) = session.exchange(REGISTER_SESSION, &register_session_data()).await?;
        session.handle = header.session;
        Ok(session)
    }

    /// The size of the open connection, if any.
    pub fn connection_size(&self) -> Option<u16> {
        self.connection.map(|c| c.size)
    }

    /// Sends one encapsulated command and reads its reply.
    async fn exchange(&mut self, command: u16, data: &[u8]) -> Result<(Header, Vec<u8>), EnipError> {
        let timeout = self.timeout;
        tokio::time::timeout(timeout, self.exchange_now(command, data))
            .await
            .map_err(|_| EnipError::Timeout(timeout))?
    }

    async fn exchange_now(&mut self, command: u16, data: &[u8]) -> Result<(Header, Vec<u8>), EnipError> {
        let context = *b"ms5-enip";
        self.stream
            .write_all(&frame(command, self.handle, context, data))
            .await?;
        let mut head = [0u8; HEADER_LEN];
        self.stream.read_exact(&mut head).await?;
        let header = Header::parse(&head)?;
        let len = usize::from(header.length);
        if len > MAX_REPLY {
            return Err(EnipError::Malformed("reply longer than any connection allows"));
        }
        let mut body = vec![0; len];
        self.stream.read_exact(&mut body).await?;
        if header.status != 0 {
            return Err(EnipError::Encapsulation(header.status));
        }
        if header.command != command {
            return Err(EnipError::Malformed("reply to another command"));
        }
        Ok((header, body))
    }

    /// Sends an unconnected CIP request; returns the CIP reply (any status).
    pub async fn unconnected(&mut self, cip: &[u8]) -> Result<Vec<u8>, EnipError> {
        let secs = u16::try_from(self.timeout.as_secs()).unwrap_or(u16::MAX).max(1);
        let (_, body) = self.exchange(SEND_RR_DATA, &rr_data(secs, cip)).await?;
        Ok(unconnected_reply(&body)?.to_vec())
    }

    /// Opens the class 3 connection to the controller behind `route`: a Large Forward Open
    /// of 4,000 bytes when `large`, else (or when the target refuses it) a Forward Open of
    /// 500. Returns the size in force.
    pub async fn open(&mut self, route: &[u8], large: bool) -> Result<u16, EnipError> {
        self.route = route.to_vec();
        let mut last = None;
        let tries: &[(bool, u16)] = if large {
            &[(true, LARGE_SIZE), (false, SMALL_SIZE)]
        } else {
            &[(false, SMALL_SIZE)]
        };
        for &(big, size) in tries {
            let mut rng = rand::rng();
            let triad = Triad {
                serial: rng.random(),
                vendor: VENDOR,
                originator: rng.random(),
            };
            let service = if big { LARGE_FORWARD_OPEN } else { FORWARD_OPEN };
            let data = forward_open_data(big, size, triad, rng.random(), route);
            let reply = self.unconnected(&request(service, &CONNECTION_MANAGER, &data)).await?;
            let reply = Reply::parse(&reply)?;
            match reply.check() {
                Ok(()) => {
                    let opened = parse_forward_open_reply(reply.data)?;
                    self.connection = Some(Connection { opened, size, seq: 0 });
                    return Ok(size);
                }
                Err(e) => {
                    tracing::debug!(large = big, error = %e, "Forward Open refused");
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or(EnipError::Malformed("no Forward Open tried")))
    }

    /// Sends a CIP request on the open connection; returns the CIP reply (any status).
    pub async fn connected(&mut self, cip: &[u8]) -> Result<Vec<u8>, EnipError> {
        let Some(mut c) = self.connection else {
            return self.unconnected(cip).await;
        };
        c.seq = c.seq.wrapping_add(1);
        self.connection = Some(c);
        let (_, body) = self
            .exchange(SEND_UNIT_DATA, &unit_data(c.opened.o_t_id, c.seq, cip))
            .await?;
        let (id, seq, reply) = connected_reply(&body)?;
        // The target should answer with the T→O id; some (cpppo) echo the O→T id. Either
        // names this connection on this TCP stream; the sequence count must match.
        if (id != c.opened.t_o_id && id != c.opened.o_t_id) || seq != c.seq {
            return Err(EnipError::Malformed("reply on another connection or out of sequence"));
        }
        Ok(reply.to_vec())
    }

    /// Closes the connection and the session, best effort (the peer may be gone).
    pub async fn close(mut self) {
        if let Some(c) = self.connection.take() {
            let data = forward_close_data(c.opened.triad, &self.route);
            let _ = self
                .unconnected(&request(FORWARD_CLOSE, &CONNECTION_MANAGER, &data))
                .await;
        }
        let context = *b"ms5-enip";
        let _ = self
            .stream
            .write_all(&frame(UNREGISTER_SESSION, self.handle, context, &[]))
            .await;
    }
}
