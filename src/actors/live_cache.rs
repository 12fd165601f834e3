//! `LiveCache`: the REST bytes of every machine, every line and the whole plant, written by
//! the machine and line actors as they publish and read by the HTTP handlers without an
//! actor hop. Each body is serialised at most once per change, at its first read (or
//! frame: it shares the publish's [`EntityJson`]), and carries its `ETag` and, made on first
//! demand, its gzip form.
//!
//! Freshness: every change bumps the entity's `wanted` version; a publish stores the body
//! with the version it shows. A read of an entity whose stored version is behind asks the
//! actor (whose answer includes every change before the read) and stores that instead.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use actix_web::web::Bytes;

use super::entity_json::EntityJson;

/// One JSON body with its validator.
pub struct Body {
    json: OnceLock<Bytes>,
    /// Where the JSON comes from when it is first read, if it was not given.
    source: Option<Arc<EntityJson>>,
    etag: OnceLock<String>,
    gzip: OnceLock<Bytes>,
}

impl Body {
    /// A body for these bytes.
    pub fn new(json: impl Into<Bytes>) -> Arc<Body> {
        Arc::new(Body {
            json: OnceLock::from(json.into()),
            source: None,
            etag: OnceLock::new(),
            gzip: OnceLock::new(),
        })
    }

    /// A body of a published state, serialised when first read.
    pub fn of(entity: Arc<EntityJson>) -> Arc<Body> {
        Arc::new(Body {
            json: OnceLock::new(),
            source: Some(entity),
            etag: OnceLock::new(),
            gzip: OnceLock::new(),
        })
    }

    /// The JSON.
    pub fn json(&self) -> &Bytes {
        self.json
            .get_or_init(|| self.source.as_ref().map(|s| s.data().into_bytes()).unwrap_or_default())
    }

    /// The `ETag` header value.
    pub fn etag(&self) -> &str {
        self.etag.get_or_init(|| {
            let mut h = DefaultHasher::new();
            self.json().hash(&mut h);
            // Weak: the gzip form shares it.
            format!("W/\"{:016x}\"", h.finish())
        })
    }

    /// The JSON gzipped, made once.
    pub fn gzip(&self) -> &Bytes {
        self.gzip.get_or_init(|| {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            // Writing to a Vec cannot fail.
            let _ = enc.write_all(self.json());
            enc.finish().map(Bytes::from).unwrap_or_default()
        })
    }
}

#[derive(Default)]
struct Slot {
    wanted: u64,
    have: u64,
    body: Option<Arc<Body>>,
}

#[derive(Default)]
struct PlantBody {
    /// The line bodies it was made of (held, so a compared address is never reused).
    parts: Vec<Arc<Body>>,
    body: Option<Arc<Body>>,
}

/// The cache.
pub struct LiveCache {
    machines: Vec<Mutex<Slot>>,
    lines: Vec<Mutex<Slot>>,
    plant: Mutex<PlantBody>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned slot only means a writer panicked mid-store; its fields are still whole.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl LiveCache {
    /// A cache for a plant of `machines` machines and `lines` lines.
    pub fn new(machines: usize, lines: usize) -> Arc<LiveCache> {
        Arc::new(LiveCache {
            machines: (0..machines).map(|_| Mutex::default()).collect(),
            lines: (0..lines).map(|_| Mutex::default()).collect(),
            plant: Mutex::default(),
        })
    }

    fn bump(slots: &[Mutex<Slot>], idx: usize) -> u64 {
        slots.get(idx).map_or(0, |s| {
            let mut s = lock(s);
            s.wanted += 1;
            s.wanted
        })
    }

    fn store(slots: &[Mutex<Slot>], idx: usize, version: Option<u64>, body: Arc<Body>) -> Arc<Body> {
        if let Some(slot) = slots.get(idx) {
            let mut s = lock(slot);
            let version = version.unwrap_or(s.wanted);
            if version >= s.have {
                s.have = version;
                s.body = Some(body.clone());
            }
        }
        body
    }

    fn fresh(slots: &[Mutex<Slot>], idx: usize) -> Result<Arc<Body>, u64> {
        let s = slots.get(idx).map(lock);
        match s.as_deref() {
            Some(Slot {
                wanted,
                have,
                body: Some(b),
            }) if have >= wanted => Ok(b.clone()),
            Some(s) => Err(s.wanted),
            None => Err(0),
        }
    }

    /// Machine `idx` changed (its stored body is now behind).
    pub fn machine_changed(&self, idx: usize) {
        LiveCache::bump(&self.machines, idx);
    }

    /// Machine `idx` published this state, showing every change so far.
    pub fn store_machine(&self, idx: usize, json: Arc<EntityJson>) {
        LiveCache::store(&self.machines, idx, None, Body::of(json));
    }

    /// Machine `idx`'s body if it shows every change; else the version a fresh answer
    /// from its actor must be stored with ([`LiveCache::store_machine_at`]).
    pub fn machine(&self, idx: usize) -> Result<Arc<Body>, u64> {
        LiveCache::fresh(&self.machines, idx)
    }

    /// Stores a machine's JSON read from its actor after `version` was current.
    pub fn store_machine_at(&self, idx: usize, version: u64, json: impl Into<Bytes>) -> Arc<Body> {
        LiveCache::store(&self.machines, idx, Some(version), Body::new(json))
    }

    /// A machine of line `idx` sent the line actor a new snapshot; returns the version
    /// the line's body must reach.
    pub fn line_changed(&self, idx: usize) -> u64 {
        LiveCache::bump(&self.lines, idx)
    }

    /// Line `idx` published this state, showing every machine snapshot up to `version`.
    pub fn store_line(&self, idx: usize, version: u64, json: Arc<EntityJson>) -> Arc<Body> {
        LiveCache::store(&self.lines, idx, Some(version), Body::of(json))
    }

    /// Stores a line's JSON read from its actor after `version` was current.
    pub fn store_line_at(&self, idx: usize, version: u64, json: impl Into<Bytes>) -> Arc<Body> {
        LiveCache::store(&self.lines, idx, Some(version), Body::new(json))
    }

    /// Line `idx`'s body if it is current; else the version to store a fresh one with.
    pub fn line(&self, idx: usize) -> Result<Arc<Body>, u64> {
        LiveCache::fresh(&self.lines, idx)
    }

    /// `{"lines":[…]}` of these (current) line bodies, in the order given. The body of
    /// every line is kept and reused while none of them changes.
    pub fn lines_body(&self, parts: &[Arc<Body>], every_line: bool) -> Arc<Body> {
        if every_line {
            let cached = lock(&self.plant);
            let same =
                cached.parts.len() == parts.len() && cached.parts.iter().zip(parts).all(|(a, b)| Arc::ptr_eq(a, b));
            if let Some(b) = cached.body.as_ref().filter(|_| same) {
                return b.clone();
            }
        }
        let mut json = Vec::with_capacity(parts.iter().map(|b| b.json().len() + 1).sum::<usize>() + 12);
        json.extend_from_slice(br#"{"lines":["#);
        for (i, b) in parts.iter().enumerate() {
            if i > 0 {
                json.push(b',');
            }
            json.extend_from_slice(b.json());
        }
        json.extend_from_slice(b"]}");
        let body = Body::new(json);
        if every_line {
            let mut cached = lock(&self.plant);
            cached.parts = parts.to_vec();
            cached.body = Some(body.clone());
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_current_only_when_it_shows_every_change() {
        let cache = LiveCache::new(1, 1);
        assert_eq!(cache.machine(0).err(), Some(0), "nothing stored yet");
        cache.store_machine_at(0, 0, "{\"v\":1}");
        assert!(cache.machine(0).is_ok());
        cache.machine_changed(0);
        assert_eq!(cache.machine(0).err(), Some(1), "a change makes it stale");
        // an answer read before a later change does not make it current
        cache.machine_changed(0);
        cache.store_machine_at(0, 1, "{\"v\":2}");
        assert_eq!(cache.machine(0).err(), Some(2));
        cache.store_machine_at(0, 2, "{\"v\":3}");
        assert_eq!(
            cache.machine(0).map(|b| b.json().clone()).ok(),
            Some(Bytes::from("{\"v\":3}"))
        );
        // an older publish arriving late does not replace a newer body
        cache.store_machine_at(0, 1, "{\"v\":0}");
        assert_eq!(
            cache.machine(0).map(|b| b.json().clone()).ok(),
            Some(Bytes::from("{\"v\":3}"))
        );
    }

    #[test]
    fn the_plant_body_is_reused_until_a_line_changes_and_etags_follow_the_bytes() {
        let cache = LiveCache::new(0, 2);
        let a = cache.store_line_at(0, 0, "{\"id\":\"a\"}");
        let b = cache.store_line_at(1, 0, "{\"id\":\"b\"}");
        let first = cache.lines_body(&[a.clone(), b.clone()], true);
        assert_eq!(first.json(), &Bytes::from(r#"{"lines":[{"id":"a"},{"id":"b"}]}"#));
        assert!(Arc::ptr_eq(&first, &cache.lines_body(&[a.clone(), b.clone()], true)));
        let b2 = cache.store_line_at(1, 1, "{\"id\":\"b\",\"x\":1}");
        let second = cache.lines_body(&[a.clone(), b2], true);
        assert_ne!(first.etag(), second.etag());
        let only_a = cache.lines_body(&[a], false);
        assert_eq!(only_a.json(), &Bytes::from(r#"{"lines":[{"id":"a"}]}"#));
        assert!(first.etag().starts_with("W/\""));
        // the gzip form inflates back to the JSON
        let mut out = Vec::new();
        let mut dec = flate2::read::GzDecoder::new(&first.gzip()[..]);
        let _ = std::io::Read::read_to_end(&mut dec, &mut out);
        assert_eq!(out, first.json().to_vec());
    }
}
