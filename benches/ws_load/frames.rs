//! What the load tool reads from a text frame, and the counts it keeps: every frame and
//! its bytes, whatever its type, and sizes per type. Pure: no IO, no clock.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The `type` of a frame: read from its first bytes when the frame starts with it (MS5
/// writes `{"type":…` first in both protocols), else from the parsed frame. `"?"` when it
/// has none (not JSON, or a publisher's raw text).
pub fn frame_type(text: &[u8]) -> &str {
    const HEAD: &[u8] = br#"{"type":""#;
    if let Some(rest) = text.strip_prefix(HEAD)
        && let Some(end) = rest.iter().take(32).position(|b| *b == b'"')
        && let Ok(kind) = std::str::from_utf8(&rest[..end])
    {
        return kind;
    }
    #[derive(Deserialize)]
    struct Typed<'a> {
        #[serde(borrow, rename = "type")]
        kind: Option<&'a str>,
    }
    match serde_json::from_slice::<Typed>(text) {
        Ok(Typed { kind: Some(kind) }) => kind,
        _ => "?",
    }
}

/// `data.product` of a frame on `channel`, whatever its type: a protocol 1 `update` or
/// `snapshot` carries the machine's whole state, a protocol 2 `patch` carries `product`
/// only when it changed. `None` for other channels, frames without it, or `null`.
pub fn product_on(text: &[u8], channel: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Frame {
        channel: Option<String>,
        data: Option<Data>,
    }
    #[derive(Deserialize)]
    struct Data {
        product: Option<String>,
    }
    let frame: Frame = serde_json::from_slice(text).ok()?;
    if frame.channel.as_deref() != Some(channel) {
        return None;
    }
    frame.data?.product
}

/// Frames of one type.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TypeCount {
    /// Frames.
    pub frames: u64,
    /// Their bytes (payload).
    pub bytes: u64,
    /// The largest one.
    pub max: u64,
}

impl TypeCount {
    /// Mean frame size in bytes (0 with no frame).
    pub fn mean(&self) -> f64 {
        if self.frames == 0 {
            0.0
        } else {
            self.bytes as f64 / self.frames as f64
        }
    }
}

/// What a set of clients received: sizes per type over every frame, and the frames and
/// bytes that arrived inside the measurement window.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Received {
    /// Every frame, by type.
    pub by_type: BTreeMap<String, TypeCount>,
    /// Frames inside the window.
    pub window_frames: u64,
    /// Their bytes.
    pub window_bytes: u64,
}

impl Received {
    /// Counts one text frame of `len` bytes and type `kind`.
    pub fn record(&mut self, kind: &str, len: usize, in_window: bool) {
        let len = len as u64;
        let slot = match self.by_type.get_mut(kind) {
            Some(s) => s,
            None => self.by_type.entry(kind.to_owned()).or_default(),
        };
        slot.frames += 1;
        slot.bytes += len;
        slot.max = slot.max.max(len);
        if in_window {
            self.window_frames += 1;
            self.window_bytes += len;
        }
    }

    /// Adds another set's counts (another thread's clients).
    pub fn merge(&mut self, other: &Received) {
        for (kind, c) in &other.by_type {
            let slot = self.by_type.entry(kind.clone()).or_default();
            slot.frames += c.frames;
            slot.bytes += c.bytes;
            slot.max = slot.max.max(c.max);
        }
        self.window_frames += other.window_frames;
        self.window_bytes += other.window_bytes;
    }
}

/// A publisher's frame of `size` bytes (or the bare frame, where that is longer),
/// shaped like an MS5 update so the subscribers count it as one.
pub fn padded_frame(seq: u64, size: usize) -> String {
    let head = format!(r#"{{"type":"update","channel":"production_updates","seq":{seq},"data":{{"pad":""#);
    let tail = r#""}}"#;
    let pad = size.saturating_sub(head.len() + tail.len());
    let mut s = String::with_capacity(head.len() + pad + tail.len());
    s.push_str(&head);
    s.extend(std::iter::repeat_n('x', pad));
    s.push_str(tail);
    s
}
