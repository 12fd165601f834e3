//! Account changes shared by the CLI (`ms5 user add|passwd`) and its tests.

use crate::domain::EpochMs;
use crate::domain::access::Role;
use crate::domain::plant::PlantModel;
use crate::store::{Store, StoreError, User, UserChange};

use super::password::{self, PasswordError};

/// Why an account change failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Bad username.
    #[error("a username must be 1-64 letters, digits or . _ @ -")]
    Username,
    /// A line that the plant does not have.
    #[error("no line `{0}` in the plant model")]
    UnknownLine(String),
    /// Bad password.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// No such user.
    #[error("no user `{0}`")]
    NoSuchUser(String),
    /// The store failed (or the name is taken).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Longest username.
pub const MAX_USERNAME_CHARS: usize = 64;

/// Whether `name` is an acceptable username.
pub fn valid_username(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= MAX_USERNAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'))
}

/// Adds a user.
pub async fn add_user(
    store: &Store,
    plant: &PlantModel,
    username: &str,
    role: Role,
    lines: Option<Vec<String>>,
    password: &str,
    now: EpochMs,
) -> Result<User, AccountError> {
    if !valid_username(username) {
        return Err(AccountError::Username);
    }
    if let Some(l) = lines.iter().flatten().find(|l| plant.line(l).is_none()) {
        return Err(AccountError::UnknownLine(l.clone()));
    }
    let hash = password::hash(password)?;
    Ok(store.insert_user(username, &hash, role, &lines, now).await?)
}

/// Sets a user's password; their refresh tokens are revoked.
pub async fn set_password(store: &Store, username: &str, password: &str, now: EpochMs) -> Result<User, AccountError> {
    let change = UserChange {
        password_hash: Some(password::hash(password)?),
        ..UserChange::default()
    };
    store
        .update_user(username, &change, true, now)
        .await?
        .ok_or_else(|| AccountError::NoSuchUser(username.to_owned()))
}
