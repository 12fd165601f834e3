//! Password hashing: argon2id with the crate's default parameters (19 MiB, 2 passes),
//! stored as PHC strings so parameters can be raised later without breaking old hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted (argon2 cost is per byte of input, so bound it).
pub const MAX_PASSWORD_BYTES: usize = 256;

/// A password that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    /// Too short or too long.
    #[error("a password must have at least {MIN_PASSWORD_CHARS} characters and at most {MAX_PASSWORD_BYTES} bytes")]
    Length,
    /// Hashing failed (not expected with valid parameters).
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// Checks the rules a new password must meet.
pub fn check_new(password: &str) -> Result<(), PasswordError> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::Length);
    }
    Ok(())
}

/// Hashes a new password (after [`check_new`]).
pub fn hash(password: &str) -> Result<String, PasswordError> {
    check_new(password)?;
    let bytes = super::secret::random_bytes::<16>().map_err(|e| PasswordError::Hash(e.to_string()))?;
    let salt = SaltString::encode_b64(&bytes).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches `phc` (constant time inside argon2). A malformed hash
/// never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify_only_the_right_password() {
        let a = hash("correct horse battery").unwrap();
        let b = hash("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse batterY", &a));
        assert!(!verify("correct horse battery", "not a hash"));
        assert_eq!(hash("short"), Err(PasswordError::Length));
        assert_eq!(check_new(&"x".repeat(300)), Err(PasswordError::Length));
    }
}
