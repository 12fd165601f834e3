//! Users, refresh tokens, display tokens and feature-flag changes.

use crate::store::sql;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use utoipa::ToSchema;

use super::{Store, StoreError};
use crate::domain::EpochMs;
use crate::domain::access::Role;
use crate::domain::snapshot::utc;

/// An account (never with its password hash).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Lines the user is limited to; `null`: all.
    pub lines: Option<Vec<String>>,
    /// Disabled users cannot sign in or refresh.
    pub disabled: bool,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Raised by every change that ends the user's sessions; tokens carry it.
    #[serde(skip)]
    #[schema(ignore)]
    pub token_version: i64,
}

/// What may change on a user.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    /// New role.
    pub role: Option<Role>,
    /// New line scope (`Some(None)`: all lines).
    pub lines: Option<Option<Vec<String>>>,
    /// Disable or enable.
    pub disabled: Option<bool>,
    /// New argon2id hash.
    pub password_hash: Option<String>,
}

/// A stored refresh token.
#[derive(Debug, Clone)]
pub struct RefreshRow {
    /// Row id.
    pub id: i64,
    /// Its login family.
    pub family: String,
    /// Owner.
    pub user_id: i64,
    /// Expiry.
    pub expires_at: EpochMs,
    /// Set once it was exchanged for a new one.
    pub rotated_at: Option<EpochMs>,
    /// Set once revoked (logout, reuse, user change).
    pub revoked_at: Option<EpochMs>,
}

/// A wall-display token (never with its secret).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DisplayToken {
    /// Id.
    pub id: i64,
    /// Where it hangs.
    pub name: String,
    /// Lines it shows; `null`: all.
    pub lines: Option<Vec<String>>,
    /// Admin who made it.
    pub created_by: String,
    /// When.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Who revoked it.
    pub revoked_by: Option<String>,
}

fn lines_json(lines: &Option<Vec<String>>) -> Option<String> {
    lines.as_ref().map(|l| serde_json::Value::from(l.clone()).to_string())
}

fn lines_from(row: &AnyRow) -> Result<Option<Vec<String>>, sqlx::Error> {
    let text: Option<String> = row.try_get("lines")?;
    text.map(|t| serde_json::from_str(&t).map_err(|e| sqlx::Error::Decode(Box::new(e))))
        .transpose()
}

fn user_from(row: &AnyRow) -> Result<User, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        role: Role::parse(&role).ok_or_else(|| sqlx::Error::Decode(format!("unknown role `{role}`").into()))?,
        lines: lines_from(row)?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        created_at: utc(row.try_get("created_at_ms")?),
        updated_at: utc(row.try_get("updated_at_ms")?),
        token_version: row.try_get("token_version")?,
    })
}

fn display_from(row: &AnyRow) -> Result<DisplayToken, sqlx::Error> {
    Ok(DisplayToken {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        lines: lines_from(row)?,
        created_by: row.try_get("created_by")?,
        created_at: utc(row.try_get("created_at_ms")?),
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at_ms")?.map(utc),
        revoked_by: row.try_get("revoked_by")?,
    })
}

fn conflict(e: sqlx::Error, what: String) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(e),
    }
}

/// Revoked access tokens and account changes, as stored.
#[derive(Debug, Clone, Default)]
pub struct TokenRevocations {
    /// Signed-out access tokens: (jti, exp in s).
    pub jtis: Vec<(String, i64)>,
    /// Users whose tokens from an older version are refused: (id, token_version).
    pub users: Vec<(i64, i64)>,
}

/// A refresh token to store.
#[derive(Debug, Clone)]
pub struct NewRefresh<'a> {
    /// SHA-256 of the token.
    pub hash: &'a [u8],
    /// Its sign-in.
    pub family: &'a str,
    /// Owner.
    pub user_id: i64,
    /// Issued.
    pub now: EpochMs,
    /// Expiry (a sign-in's tokens all expire when its first one does).
    pub expires_at: EpochMs,
    /// The user's `token_version` when the user was read: if the account changed since,
    /// nothing is stored.
    pub token_version: i64,
}

/// Stores a refresh token unless its user changed or was disabled since it was read.
async fn insert_refresh(tx: &mut sqlx::Transaction<'_, sqlx::Any>, t: &NewRefresh<'_>) -> Result<bool, StoreError> {
    let done = sql::query(
        "INSERT INTO refresh_tokens (token_hash, family, user_id, issued_at_ms, expires_at_ms)
         SELECT ?, ?, id, ?, ? FROM users WHERE id = ? AND token_version = ? AND disabled = 0",
    )
    .bind(t.hash)
    .bind(t.family)
    .bind(t.now)
    .bind(t.expires_at)
    .bind(t.user_id)
    .bind(t.token_version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

const USER_COLUMNS: &str = "id, username, role, lines, disabled, token_version, created_at_ms, updated_at_ms";

impl Store {
    /// How many users exist (disabled ones too).
    pub async fn user_count(&self) -> Result<i64, StoreError> {
        Ok(sql::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Adds a user; [`StoreError::Conflict`] if the name is taken.
    pub async fn insert_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
        lines: &Option<Vec<String>>,
        now: EpochMs,
    ) -> Result<User, StoreError> {
        let row = sql::query(format!(
            "INSERT INTO users (username, password_hash, role, lines, created_at_ms, updated_at_ms)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING {USER_COLUMNS}"
        ))
        .bind(username)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(lines_json(lines))
        .bind(now)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| conflict(e, format!("user `{username}` exists")))?;
        Ok(user_from(&row)?)
    }

    /// A user and their password hash, by name.
    pub async fn user_with_hash(&self, username: &str) -> Result<Option<(User, String)>, StoreError> {
        let row = sql::query(format!(
            "SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = ?"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(r) => Some((user_from(&r)?, r.try_get("password_hash")?)),
            None => None,
        })
    }

    /// A user by id.
    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        let row = sql::query(format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(user_from).transpose()?)
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sql::query(format!("SELECT {USER_COLUMNS} FROM users ORDER BY username"))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(user_from).collect::<Result<_, _>>()?)
    }

    /// Applies `change` to a user; `None` if there is no such user. With `end_sessions`
    /// the user's refresh tokens are revoked and access tokens issued before now refused.
    /// [`StoreError::Conflict`] if the change would leave no active admin (checked in the
    /// same transaction, so two concurrent changes cannot both pass).
    pub async fn update_user(
        &self,
        username: &str,
        change: &UserChange,
        end_sessions: bool,
        now: EpochMs,
    ) -> Result<Option<User>, StoreError> {
        let mut tx = self.write_tx().await?;
        let was_admin: Option<i64> = sql::query_scalar(
            "SELECT CASE WHEN role = 'admin' AND disabled = 0 THEN 1 ELSE 0 END FROM users WHERE username = ?",
        )
        .bind(username)
        .fetch_optional(&mut *tx)
        .await?;
        let row = sql::query(format!(
            "UPDATE users SET
                role = COALESCE(?, role),
                lines = CASE WHEN ? THEN ? ELSE lines END,
                disabled = COALESCE(?, disabled),
                password_hash = COALESCE(?, password_hash),
                token_version = token_version + CASE WHEN ? THEN 1 ELSE 0 END,
                updated_at_ms = ?
             WHERE username = ? RETURNING {USER_COLUMNS}"
        ))
        .bind(change.role.map(Role::as_str))
        .bind(change.lines.is_some())
        .bind(change.lines.as_ref().and_then(lines_json))
        .bind(change.disabled.map(i64::from))
        .bind(change.password_hash.as_deref())
        .bind(end_sessions)
        .bind(now)
        .bind(username)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user = user_from(&row)?;
        let admins: i64 = sql::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0")
            .fetch_one(&mut *tx)
            .await?;
        if admins == 0 && was_admin == Some(1) {
            return Err(StoreError::Conflict(
                "this is the last active admin: make another admin first".into(),
            ));
        }
        if end_sessions {
            sql::query("UPDATE refresh_tokens SET revoked_at_ms = ? WHERE user_id = ? AND revoked_at_ms IS NULL")
                .bind(now)
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(user))
    }

    /// Stores the first refresh token of a sign-in; `false` if the account changed since
    /// it was read (nothing is stored).
    pub async fn insert_refresh(&self, token: &NewRefresh<'_>) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let stored = insert_refresh(&mut tx, token).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// A refresh token by its hash.
    pub async fn refresh_token(&self, hash: &[u8]) -> Result<Option<RefreshRow>, StoreError> {
        let row = sql::query(
            "SELECT id, family, user_id, expires_at_ms, rotated_at_ms, revoked_at_ms
             FROM refresh_tokens WHERE token_hash = ?",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(RefreshRow {
            id: r.try_get("id")?,
            family: r.try_get("family")?,
            user_id: r.try_get("user_id")?,
            expires_at: r.try_get("expires_at_ms")?,
            rotated_at: r.try_get("rotated_at_ms")?,
            revoked_at: r.try_get("revoked_at_ms")?,
        }))
    }

    /// Marks a live refresh token rotated and stores its successor in one transaction,
    /// so a revocation of the family or user lands either before (nothing is issued) or
    /// after (the successor is revoked too). `false` if the token was not live or the
    /// account changed since it was read (then nothing changes).
    pub async fn rotate_refresh(&self, id: i64, next: &NewRefresh<'_>) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sql::query(
            "UPDATE refresh_tokens SET rotated_at_ms = ?
             WHERE id = ? AND rotated_at_ms IS NULL AND revoked_at_ms IS NULL",
        )
        .bind(next.now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 || !insert_refresh(&mut tx, next).await? {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Access tokens signed out before they can no longer pass (jti, exp), and each
    /// changed user's `token_version`. Entries whose `exp` is more than `keep_s` past
    /// are dropped.
    pub async fn token_revocations(&self, now_s: i64, keep_s: i64) -> Result<TokenRevocations, StoreError> {
        sql::query("DELETE FROM revoked_access_tokens WHERE expires_at_s + ? < ?")
            .bind(keep_s)
            .bind(now_s)
            .execute(&self.pool)
            .await?;
        let jtis = sql::query_as("SELECT jti, expires_at_s FROM revoked_access_tokens")
            .fetch_all(&self.pool)
            .await?;
        let users = sql::query_as("SELECT id, token_version FROM users WHERE token_version > 0")
            .fetch_all(&self.pool)
            .await?;
        Ok(TokenRevocations { jtis, users })
    }

    /// Refuses an access token from now on (sign-out).
    pub async fn revoke_access_token(&self, jti: &str, expires_at_s: i64) -> Result<(), StoreError> {
        sql::query("INSERT INTO revoked_access_tokens (jti, expires_at_s) VALUES (?, ?) ON CONFLICT DO NOTHING")
            .bind(jti)
            .bind(expires_at_s)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Revokes every token of a login family; returns how many were live.
    pub async fn revoke_family(&self, family: &str, now: EpochMs) -> Result<u64, StoreError> {
        let done = sql::query("UPDATE refresh_tokens SET revoked_at_ms = ? WHERE family = ? AND revoked_at_ms IS NULL")
            .bind(now)
            .bind(family)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Stores a display token.
    pub async fn insert_display_token(
        &self,
        name: &str,
        hash: &[u8],
        lines: &Option<Vec<String>>,
        by: &str,
        now: EpochMs,
    ) -> Result<DisplayToken, StoreError> {
        let row = sql::query(
            "INSERT INTO display_tokens (name, token_hash, lines, created_by, created_at_ms)
             VALUES (?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(name)
        .bind(hash)
        .bind(lines_json(lines))
        .bind(by)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(display_from(&row)?)
    }

    /// Every display token, newest first.
    pub async fn display_tokens(&self) -> Result<Vec<DisplayToken>, StoreError> {
        let rows = sql::query("SELECT * FROM display_tokens ORDER BY id DESC")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(display_from).collect::<Result<_, _>>()?)
    }

    /// Live display tokens with their hashes (loaded into memory at start).
    pub async fn live_display_tokens(&self) -> Result<Vec<(Vec<u8>, DisplayToken)>, StoreError> {
        let rows = sql::query("SELECT * FROM display_tokens WHERE revoked_at_ms IS NULL")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("token_hash")?, display_from(r)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Revokes a display token; `None` if there is no such token.
    pub async fn revoke_display_token(
        &self,
        id: i64,
        by: &str,
        now: EpochMs,
    ) -> Result<Option<DisplayToken>, StoreError> {
        let row = sql::query(
            "UPDATE display_tokens SET revoked_at_ms = COALESCE(revoked_at_ms, ?), revoked_by = COALESCE(revoked_by, ?)
             WHERE id = ? RETURNING *",
        )
        .bind(now)
        .bind(by)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(display_from).transpose()?)
    }

    /// Flag values set by admins.
    pub async fn flag_changes(&self) -> Result<Vec<(String, bool)>, StoreError> {
        let rows = sql::query("SELECT name, enabled FROM feature_flags")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("name")?, r.try_get::<i64, _>("enabled")? != 0)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Stores an admin's flag change.
    pub async fn set_flag(&self, name: &str, enabled: bool, by: &str, now: EpochMs) -> Result<(), StoreError> {
        sql::query(
            "INSERT INTO feature_flags (name, enabled, updated_by, updated_at_ms) VALUES (?, ?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, updated_by = excluded.updated_by,
             updated_at_ms = excluded.updated_at_ms",
        )
        .bind(name)
        .bind(i64::from(enabled))
        .bind(by)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
