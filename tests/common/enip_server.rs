//! A small EtherNet/IP server for the Logix and PCCC tests and the bench, written from the
//! published frame layouts (CIP Vol. 1 and 2; the DF1/PCCC protocol reference), not from
//! MS5's codec: RegisterSession, SendRRData with Forward Open, Large Forward Open (can be
//! refused, as older controllers do), Forward Close and Execute PCCC (typed read, with
//! EXT STS errors), SendUnitData with Read Tag and Multiple Service Packets. It records
//! what it was asked, so tests can check connection sizes and packet counts.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the server holds and what it saw.
#[derive(Default)]
pub struct State {
    /// Logix tags by full name (`Program:Main.Count`, `Counts[2]`): CIP type and value bytes.
    pub tags: HashMap<String, (u16, Vec<u8>)>,
    /// PCCC data files by (type code, file number): the file's bytes.
    pub files: HashMap<(u8, u16), Vec<u8>>,
    /// Answer Large Forward Open (else status 0x08, service not supported).
    pub large: bool,
    /// Connection sizes asked for, in order: (large, bytes).
    pub opens: Vec<(bool, u32)>,
    /// Multiple Service Packets served, with the number of requests in each.
    pub packets: Vec<usize>,
    /// Typed reads served: (file, first element, bytes).
    pub pccc_reads: Vec<(u16, usize, usize)>,
}

/// A running server.
pub struct EnipServer {
    pub state: Arc<Mutex<State>>,
    port: u16,
    accept: JoinHandle<()>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl EnipServer {
    /// Serves `state` on `port` of 127.0.0.1 (0: any free port).
    pub async fn start(port: u16, state: Arc<Mutex<State>>) -> EnipServer {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (st, cs) = (state.clone(), conns.clone());
        let accept = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let st = st.clone();
                let h = tokio::spawn(async move {
                    let _ = serve(sock, st).await;
                });
                cs.lock().expect("lock").push(h);
            }
        });
        EnipServer {
            state,
            port,
            accept,
            conns,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Stops listening and drops every connection.
    pub async fn stop(self) {
        self.accept.abort();
        let _ = self.accept.await;
        let conns: Vec<JoinHandle<()>> = std::mem::take(&mut *self.conns.lock().expect("lock"));
        for c in conns {
            c.abort();
            let _ = c.await;
        }
    }
}

impl State {
    /// Sets a DINT tag.
    pub fn dint(&mut self, name: &str, v: i32) {
        self.tags.insert(name.to_owned(), (0xC4, v.to_le_bytes().to_vec()));
    }
    /// Sets a typed tag.
    pub fn tag(&mut self, name: &str, kind: u16, bytes: &[u8]) {
        self.tags.insert(name.to_owned(), (kind, bytes.to_vec()));
    }
    /// Sets a Logix STRING (structure 0x0FCE: DINT length, 82 characters).
    pub fn string(&mut self, name: &str, s: &str) {
        let mut b = vec![0xCE, 0x0F];
        b.extend_from_slice(&(s.len() as i32).to_le_bytes());
        b.extend_from_slice(s.as_bytes());
        b.resize(2 + 4 + 82, 0);
        self.tags.insert(name.to_owned(), (0x02A0, b));
    }
    /// Sets word `index` of a PCCC file (type code, number), growing it as needed.
    pub fn word(&mut self, kind: u8, file: u16, index: usize, v: u16) {
        let f = self.files.entry((kind, file)).or_default();
        if f.len() < 2 * index + 2 {
            f.resize(2 * index + 2, 0);
        }
        f[2 * index..2 * index + 2].copy_from_slice(&v.to_le_bytes());
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

const SESSION: u32 = 0x0000_5E55;
const O_T_ID: u32 = 0x00AB_0001;

async fn serve(mut sock: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let mut t_o_id = 0u32;
    let mut size = 0usize;
    loop {
        let mut head = [0u8; 24];
        sock.read_exact(&mut head).await?;
        let (command, len) = (u16_at(&head, 0), u16_at(&head, 2) as usize);
        let mut body = vec![0u8; len];
        sock.read_exact(&mut body).await?;
        let reply_body = match command {
            0x0065 => body.clone(),
            0x0066 => return Ok(()),
            0x006F => {
                // interface handle (4), timeout (2), count (2), null item (4), B2 item
                let cip = &body[16..16 + u16_at(&body, 14) as usize];
                let reply = unconnected(cip, &state, &mut t_o_id, &mut size);
                let mut out = vec![0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0xB2, 0];
                out.extend_from_slice(&(reply.len() as u16).to_le_bytes());
                out.extend_from_slice(&reply);
                out
            }
            0x0070 => {
                // A1 item at 8 (id at 12), B1 item at 16: length, sequence, message
                let id = u32::from_le_bytes([body[12], body[13], body[14], body[15]]);
                let item_len = u16_at(&body, 18) as usize;
                let seq = u16_at(&body, 20);
                let cip = &body[22..20 + item_len];
                if id != O_T_ID {
                    return Ok(());
                }
                let mut reply = if item_len > size {
                    vec![cip[0] | 0x80, 0, 0x15, 0] // too much data
                } else {
                    connected(cip, &state)
                };
                if reply.len() + 2 > size {
                    reply = vec![cip[0] | 0x80, 0, 0x11, 0]; // reply data too large
                }
                let mut out = vec![0, 0, 0, 0, 0, 0, 2, 0, 0xA1, 0, 4, 0];
                out.extend_from_slice(&t_o_id.to_le_bytes());
                out.extend_from_slice(&[0xB1, 0]);
                out.extend_from_slice(&((reply.len() + 2) as u16).to_le_bytes());
                out.extend_from_slice(&seq.to_le_bytes());
                out.extend_from_slice(&reply);
                out
            }
            _ => return Ok(()),
        };
        let mut out = Vec::with_capacity(24 + reply_body.len());
        out.extend_from_slice(&command.to_le_bytes());
        out.extend_from_slice(&(reply_body.len() as u16).to_le_bytes());
        out.extend_from_slice(&SESSION.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&head[12..20]);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&reply_body);
        sock.write_all(&out).await?;
    }
}

fn status(service: u8, general: u8) -> Vec<u8> {
    vec![service | 0x80, 0, general, 0]
}

fn unconnected(cip: &[u8], state: &Mutex<State>, t_o_id: &mut u32, size: &mut usize) -> Vec<u8> {
    let service = cip[0];
    let path_len = 2 * cip[1] as usize;
    let data = &cip[2 + path_len..];
    match service {
        0x54 | 0x5B => {
            let large = service == 0x5B;
            let mut st = state.lock().expect("lock");
            // ticks (2), O→T id (4), T→O id (4), serial (2), vendor (2), originator (4),
            // multiplier + reserved (4), O→T RPI (4), O→T parameters (2 or 4)
            let params = if large {
                u32::from_le_bytes([data[26], data[27], data[28], data[29]]) & 0xFFFF
            } else {
                u32::from(u16_at(data, 26)) & 0x01FF
            };
            st.opens.push((large, params));
            if large && !st.large {
                return status(service, 0x08);
            }
            *t_o_id = u32::from_le_bytes([data[6], data[7], data[8], data[9]]);
            *size = params as usize;
            let mut out = vec![service | 0x80, 0, 0, 0];
            out.extend_from_slice(&O_T_ID.to_le_bytes());
            out.extend_from_slice(&t_o_id.to_le_bytes());
            out.extend_from_slice(&data[10..18]);
            out.extend_from_slice(&[0x80, 0x84, 0x1E, 0, 0x80, 0x84, 0x1E, 0, 0, 0]);
            out
        }
        0x4E => {
            let mut out = vec![0xCE, 0, 0, 0];
            out.extend_from_slice(&data[2..10]);
            out.extend_from_slice(&[0, 0]);
            out
        }
        0x4B => pccc(data, state),
        _ => status(service, 0x08),
    }
}

fn connected(cip: &[u8], state: &Mutex<State>) -> Vec<u8> {
    let service = cip[0];
    let path_len = 2 * cip[1] as usize;
    let data = &cip[2 + path_len..];
    match service {
        0x0A => {
            let count = u16_at(data, 0) as usize;
            let offsets: Vec<usize> = (0..count).map(|i| u16_at(data, 2 + 2 * i) as usize).collect();
            let mut replies = Vec::with_capacity(count);
            for (i, &start) in offsets.iter().enumerate() {
                let end = offsets.get(i + 1).copied().unwrap_or(data.len());
                replies.push(read_tag(&data[start..end], state));
            }
            state.lock().expect("lock").packets.push(count);
            let failed = replies.iter().any(|r| r[2] != 0);
            let mut out = vec![0x8A, 0, if failed { 0x1E } else { 0 }, 0];
            out.extend_from_slice(&(count as u16).to_le_bytes());
            let mut offset = 2 + 2 * count;
            for r in &replies {
                out.extend_from_slice(&(offset as u16).to_le_bytes());
                offset += r.len();
            }
            for r in replies {
                out.extend_from_slice(&r);
            }
            out
        }
        0x4C => read_tag(cip, state),
        _ => status(service, 0x08),
    }
}

/// Read Tag: the symbolic path back to a name (`A.B[1,2]`), then type and value.
fn read_tag(cip: &[u8], state: &Mutex<State>) -> Vec<u8> {
    let path = &cip[2..2 + 2 * cip[1] as usize];
    let mut name = String::new();
    let mut index: Vec<String> = Vec::new();
    let mut at = 0;
    let flush = |name: &mut String, index: &mut Vec<String>| {
        if !index.is_empty() {
            name.push_str(&format!("[{}]", index.join(",")));
            index.clear();
        }
    };
    while at < path.len() {
        match path[at] {
            0x91 => {
                flush(&mut name, &mut index);
                let n = path[at + 1] as usize;
                if !name.is_empty() {
                    name.push('.');
                }
                name.push_str(&String::from_utf8_lossy(&path[at + 2..at + 2 + n]));
                at += 2 + n + n % 2;
            }
            0x28 => {
                index.push(path[at + 1].to_string());
                at += 2;
            }
            0x29 => {
                index.push(u16_at(path, at + 2).to_string());
                at += 4;
            }
            _ => return status(0x4C, 0x04),
        }
    }
    flush(&mut name, &mut index);
    match state.lock().expect("lock").tags.get(&name) {
        Some((kind, bytes)) => {
            let mut out = vec![0xCC, 0, 0, 0];
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(bytes);
            out
        }
        None => vec![0xCC, 0, 0x04, 1, 0, 0], // path segment error, one ext word
    }
}

/// Execute PCCC: requester id, CMD 0x0F FNC 0xA2 (typed read, three address fields).
fn pccc(data: &[u8], state: &Mutex<State>) -> Vec<u8> {
    let id_len = data[0] as usize;
    let id = &data[..id_len];
    let cmd = &data[id_len..];
    let tns = [cmd[2], cmd[3]];
    let mut out = vec![0xCB, 0, 0, 0];
    out.extend_from_slice(id);
    out.push(cmd[0] | 0x40);
    if cmd[0] != 0x0F || cmd[4] != 0xA2 {
        out.extend_from_slice(&[0x10, tns[0], tns[1]]); // illegal command
        return out;
    }
    let bytes = cmd[5] as usize;
    let mut at = 6;
    let field = |at: &mut usize| -> usize {
        if cmd[*at] == 0xFF {
            let v = u16_at(cmd, *at + 1) as usize;
            *at += 3;
            v
        } else {
            *at += 1;
            cmd[*at - 1] as usize
        }
    };
    let file = field(&mut at) as u16;
    let kind = cmd[at];
    at += 1;
    let element = field(&mut at);
    let element_bytes = match kind {
        0x86 | 0x87 => 6,
        0x8A => 4,
        _ => 2,
    };
    let mut st = state.lock().expect("lock");
    st.pccc_reads.push((file, element, bytes));
    let start = element * element_bytes;
    match st.files.get(&(kind, file)) {
        Some(f) if start + bytes <= f.len() && bytes <= 240 => {
            out.extend_from_slice(&[0, tns[0], tns[1]]);
            out.extend_from_slice(&f[start..start + bytes]);
        }
        // STS 0xF0, EXT STS 0x06: address does not point to something usable
        _ => out.extend_from_slice(&[0xF0, tns[0], tns[1], 0x06]),
    }
    out
}
