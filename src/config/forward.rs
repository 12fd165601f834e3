//! `[forward]`: an edge's store-and-forward to a central MS5 (see docs/edge.md). Without a
//! `url` nothing is forwarded and nothing is queued.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, EXAMPLE_SECRET_PREFIX, Profile};

/// Shortest forward token accepted, bytes (as the ingest token).
const MIN_TOKEN_BYTES: usize = 24;

/// `[forward]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForwardSettings {
    /// The central's base URL (`https://central.example.com`); none: this MS5 forwards nothing.
    pub url: Option<String>,
    /// This edge's name at the central: part of every record's idempotency key. Unique per
    /// edge and per database (a new database is a new edge).
    pub edge_id: String,
    /// The central's forward token (`MS5__FORWARD__TOKEN`); or `token_file`.
    pub token: Option<String>,
    /// A file holding the forward token (relative to the configuration file).
    pub token_file: Option<PathBuf>,
    /// PEM file of extra certificate authorities to trust for the central (besides the
    /// Mozilla roots), e.g. a plant's own CA. Certificates are always checked.
    pub ca_file: Option<PathBuf>,
    /// Records per request.
    pub batch_size: usize,
    /// Most records kept waiting; past it the oldest telemetry is dropped.
    pub max_rows: u64,
    /// Most bytes of records kept waiting; past it the oldest telemetry is dropped.
    pub max_bytes: u64,
    /// Forward raw tag samples too (when `store.raw_samples` keeps them).
    pub raw_samples: bool,
    /// How often the outbox is looked at while it is empty.
    #[serde(with = "humantime_serde")]
    pub poll: Duration,
    /// Longest one request may take.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// First retry delay after a failed request; doubles per failure.
    #[serde(with = "humantime_serde")]
    pub backoff_base: Duration,
    /// Longest retry delay.
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
    /// A record the central refuses this many times goes to the quarantine.
    pub quarantine_after: u32,
}

impl Default for ForwardSettings {
    fn default() -> Self {
        ForwardSettings {
            url: None,
            edge_id: String::new(),
            token: None,
            token_file: None,
            ca_file: None,
            batch_size: 500,
            max_rows: 1_000_000,
            max_bytes: 512 * 1024 * 1024,
            raw_samples: false,
            poll: Duration::from_secs(1),
            timeout: Duration::from_secs(30),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            quarantine_after: 5,
        }
    }
}

impl ForwardSettings {
    /// Whether this MS5 forwards.
    pub fn enabled(&self) -> bool {
        self.url.is_some()
    }

    /// Checks the section and reads the token file (relative paths from `dir`, the
    /// configuration file's folder); after this, [`ForwardSettings::token`] is the token.
    pub(super) fn validate(&mut self, file: &str, profile: Profile, dir: Option<&Path>) -> Result<(), ConfigError> {
        let err = |key: &str, reason: String| Err(ConfigError::new(file, key, reason));
        let Some(url) = &self.url else { return Ok(()) };
        let plain = url.starts_with("http://");
        if !url.starts_with("https://") && !plain {
            return err("forward.url", format!("`{url}` must start with https://"));
        }
        if plain && profile == Profile::Production {
            return err(
                "forward.url",
                "the production profile forwards over https:// only (the token and the plant's records cross the network)"
                    .into(),
            );
        }
        if self.edge_id.is_empty()
            || self.edge_id.len() > 64
            || !self
                .edge_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return err(
                "forward.edge_id",
                "must be 1 to 64 letters, digits, `-`, `_` or `.` (this edge's name at the central)".into(),
            );
        }
        let resolve = |p: &Path| match dir {
            Some(d) if p.is_relative() => d.join(p),
            _ => p.to_path_buf(),
        };
        if let (None, Some(f)) = (&self.token, &self.token_file) {
            let path = resolve(f);
            match std::fs::read_to_string(&path) {
                Ok(t) => self.token = Some(t.trim().to_owned()),
                Err(e) => return err("forward.token_file", format!("cannot read {}: {e}", path.display())),
            }
        }
        match &self.token {
            None => return err("forward.token", "is needed to forward (or forward.token_file)".into()),
            Some(t) if t.len() < MIN_TOKEN_BYTES => {
                return err(
                    "forward.token",
                    format!("must be at least {MIN_TOKEN_BYTES} bytes (e.g. `openssl rand -base64 48`)"),
                );
            }
            Some(t) if profile == Profile::Production && t.starts_with(EXAMPLE_SECRET_PREFIX) => {
                return err(
                    "forward.token",
                    "is the example value: the production profile needs a secret of your own".into(),
                );
            }
            Some(_) => {}
        }
        if let Some(ca) = &self.ca_file {
            let path = resolve(ca);
            if !path.is_file() {
                return err("forward.ca_file", format!("{} is not a file", path.display()));
            }
            self.ca_file = Some(path);
        }
        if self.batch_size == 0 || self.batch_size > 5_000 {
            return err("forward.batch_size", "must be 1 to 5000".into());
        }
        if self.max_rows < self.batch_size as u64 || self.max_bytes < 64 * 1024 {
            return err(
                "forward.max_rows",
                "max_rows must be at least batch_size and max_bytes at least 64 KiB".into(),
            );
        }
        if self.quarantine_after == 0 {
            return err("forward.quarantine_after", "must be at least 1".into());
        }
        if self.poll.is_zero() || self.timeout.is_zero() || self.backoff_base.is_zero() {
            return err("forward", "poll, timeout and backoff_base must be longer than 0".into());
        }
        if self.backoff_max < self.backoff_base {
            return err(
                "forward.backoff_max",
                "must not be shorter than forward.backoff_base".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge() -> ForwardSettings {
        ForwardSettings {
            url: Some("https://central.example.com".into()),
            edge_id: "hall2-line3".into(),
            token: Some("a-forward-token-of-32-bytes-0123".into()),
            ..ForwardSettings::default()
        }
    }

    #[test]
    fn bad_forward_settings_are_refused_with_their_key_and_reason() {
        // (change, profile, key, part of the reason)
        type Change = fn(&mut ForwardSettings);
        let cases: [(Change, Profile, &str, &str); 8] = [
            (
                |f| f.url = Some("ftp://central".into()),
                Profile::Development,
                "forward.url",
                "https://",
            ),
            (
                |f| f.url = Some("http://central".into()),
                Profile::Production,
                "forward.url",
                "https:// only",
            ),
            (
                |f| f.edge_id = String::new(),
                Profile::Development,
                "forward.edge_id",
                "1 to 64",
            ),
            (
                |f| f.edge_id = "hall 2".into(),
                Profile::Development,
                "forward.edge_id",
                "letters",
            ),
            (|f| f.token = None, Profile::Development, "forward.token", "is needed"),
            (
                |f| f.token = Some("short".into()),
                Profile::Development,
                "forward.token",
                "at least 24 bytes",
            ),
            (
                |f| f.token = Some(format!("{EXAMPLE_SECRET_PREFIX}-forward-token-0123456789")),
                Profile::Production,
                "forward.token",
                "example value",
            ),
            (
                |f| f.max_rows = 10,
                Profile::Development,
                "forward.max_rows",
                "at least batch_size",
            ),
        ];
        for (change, profile, key, reason) in cases {
            let mut f = edge();
            change(&mut f);
            let e = f.validate("ms5.toml", profile, None).expect_err(key);
            assert_eq!(e.key, key, "{e:?}");
            assert!(e.reason.contains(reason), "{key}: {}", e.reason);
        }
        assert!(edge().validate("ms5.toml", Profile::Production, None).is_ok());
        // Without a url, nothing else is asked for.
        assert!(
            ForwardSettings::default()
                .validate("ms5.toml", Profile::Production, None)
                .is_ok()
        );
    }

    #[test]
    fn the_token_file_is_read_relative_to_the_configuration() {
        let dir = std::env::temp_dir().join(format!("ms5-forward-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("token"), "from-the-file-0123456789abcdef\n").expect("token");
        let mut f = ForwardSettings {
            token: None,
            token_file: Some("token".into()),
            ..edge()
        };
        f.validate("ms5.toml", Profile::Production, Some(&dir)).expect("valid");
        assert_eq!(f.token.as_deref(), Some("from-the-file-0123456789abcdef"));
        let mut missing = ForwardSettings {
            token: None,
            token_file: Some("nope".into()),
            ..edge()
        };
        let e = missing
            .validate("ms5.toml", Profile::Production, Some(&dir))
            .expect_err("missing file");
        assert_eq!(e.key, "forward.token_file");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
