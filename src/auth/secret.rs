//! Opaque tokens (refresh, display): random bytes with a prefix that says what they are,
//! stored only as SHA-256 and compared in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix of refresh tokens.
pub const REFRESH_PREFIX: &str = "ms5r_";
/// Prefix of display tokens.
pub const DISPLAY_PREFIX: &str = "ms5d_";

/// Random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)?;
    Ok(buf)
}

/// A new token: `prefix` + 256 random bits, base64url.
pub fn new_token(prefix: &str) -> Result<String, getrandom::Error> {
    Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()?)))
}

/// What is stored of a token.
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Constant-time equality of two secrets (by their digests, so lengths leak nothing).
pub fn same_secret(given: &str, expected: &str) -> bool {
    digest(given).ct_eq(&digest(expected)).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_unique_and_compared_by_value() {
        let a = new_token(DISPLAY_PREFIX).unwrap();
        let b = new_token(DISPLAY_PREFIX).unwrap();
        assert!(a.starts_with("ms5d_") && a.len() == 5 + 43, "{a}");
        assert_ne!(a, b);
        assert_ne!(digest(&a), digest(&b));
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &b));
        assert!(!same_secret("", &a));
    }
}
