//! Accounts and credentials: sign-in with rate limiting, access tokens (JWT), rotating
//! refresh tokens with reuse detection, display tokens, and the ingest and metrics
//! tokens. [`Auth::authenticate`] turns a bearer credential into a
//! [`Principal`]; what a principal may do is decided in `domain::access`.

pub mod accounts;
pub mod jwt;
pub mod password;
pub mod secret;

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use serde::Serialize;
use utoipa::ToSchema;

use self::jwt::{Claims, JwtKeys};
use self::secret::{DISPLAY_PREFIX, REFRESH_PREFIX, digest, new_token, same_secret};
use crate::clock::Clock;
use crate::config::AuthSettings;
use crate::domain::EpochMs;
use crate::domain::access::Principal;
use crate::domain::login_throttle::{LoginThrottle, ThrottlePolicy};
use crate::store::{DisplayToken, NewRefresh, Store, StoreError, User};

/// Password checks that may run at once.
const HASHING_AT_ONCE: usize = 4;

/// What a successful sign-in or refresh returns.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Tokens {
    /// JWT for `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds the access token lives.
    pub expires_in: i64,
    /// Opaque; exchange it at `/api/v1/auth/refresh` (once: it rotates).
    pub refresh_token: String,
    /// Seconds the refresh token lives.
    pub refresh_expires_in: i64,
    /// Who signed in.
    pub user: User,
}

/// Why a sign-in or refresh failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown user, wrong password or disabled account: one answer for all three.
    #[error("invalid username or password")]
    InvalidCredentials,
    /// Too many failures; try again after this many seconds.
    #[error("too many failed sign-ins; try again in {0} s")]
    Locked(i64),
    /// No account exists yet.
    #[error("no accounts exist yet: create the first admin with `ms5 user add --username <name> --role admin`")]
    NoUsers,
    /// The refresh token is unknown, expired, revoked or its user is disabled.
    #[error("invalid refresh token")]
    InvalidRefresh,
    /// A rotated refresh token was used again: its whole family is now revoked.
    #[error("invalid refresh token")]
    RefreshReuse {
        /// Whose token it was.
        user_id: i64,
        /// The revoked family.
        family: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Too many password checks at once.
    #[error("too many sign-ins at once; try again shortly")]
    Busy,
    /// Randomness or signing failed.
    #[error("{0}")]
    Internal(String),
}

/// Sign-in, tokens and credential checks.
pub struct Auth {
    keys: JwtKeys,
    settings: AuthSettings,
    store: Store,
    clock: Clock,
    users_throttle: Mutex<LoginThrottle>,
    addrs_throttle: Mutex<LoginThrottle>,
    displays: RwLock<HashMap<[u8; 32], DisplayToken>>,
    /// Access tokens signed out before expiry: jti → exp (s). Mirrors the store.
    revoked_jti: RwLock<HashMap<String, i64>>,
    /// Users changed (role, lines, password, disabled): user id → `token_version`; tokens
    /// of an older version die. Mirrors the store.
    changed_users: RwLock<HashMap<i64, i64>>,
    /// Bounds concurrent argon2 work (19 MiB and a core each).
    hashing: std::sync::Arc<tokio::sync::Semaphore>,
    /// Verified against when the user is unknown, so both cases take as long.
    dummy_hash: String,
}

fn internal(e: impl std::fmt::Display) -> AuthError {
    AuthError::Internal(e.to_string())
}

impl Auth {
    /// Loads live display tokens. Without a configured secret (development only: the
    /// production profile refuses to start) a random one is made, so tokens die on restart.
    pub async fn new(settings: AuthSettings, store: Store, clock: Clock) -> Result<Auth, AuthError> {
        let secret = match &settings.jwt_secret {
            Some(s) => s.as_bytes().to_vec(),
            None => {
                tracing::warn!("auth.jwt_secret is not set: using a random secret; sign-ins end when MS5 restarts");
                secret::random_bytes::<32>().map_err(internal)?.to_vec()
            }
        };
        let leeway = i64::try_from(settings.leeway.as_secs()).unwrap_or(30);
        let keys = JwtKeys::new(&secret, &settings.issuer, &settings.audience, leeway);
        let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let policy = |free| ThrottlePolicy {
            free_failures: free,
            base_ms: ms(settings.lockout_base),
            max_ms: ms(settings.lockout_max),
            forget_after_ms: ms(settings.lockout_forget),
        };
        let dummy_hash = tokio::task::spawn_blocking(|| password::hash("not-a-password-of-anyone"))
            .await
            .map_err(internal)?
            .map_err(internal)?;
        Auth {
            keys,
            users_throttle: Mutex::new(LoginThrottle::new(policy(settings.user_free_failures))),
            addrs_throttle: Mutex::new(LoginThrottle::new(policy(settings.address_free_failures))),
            settings,
            store,
            clock,
            // Filled with the live display tokens by the first reload, below.
            displays: RwLock::new(HashMap::new()),
            revoked_jti: RwLock::new(HashMap::new()),
            changed_users: RwLock::new(HashMap::new()),
            hashing: std::sync::Arc::new(tokio::sync::Semaphore::new(HASHING_AT_ONCE)),
            dummy_hash,
        }
        .loaded()
        .await
    }

    async fn loaded(self) -> Result<Auth, AuthError> {
        let _ = self.reload().await?;
        Ok(self)
    }

    /// Merges sign-outs, account changes and display-token revocations made elsewhere
    /// (another process, `ms5 user passwd`) from the store, and says which are new here so
    /// their WebSockets can be closed. `serve` calls this every 30 s.
    pub async fn reload(&self) -> Result<Vec<crate::actors::hub::Revoked>, AuthError> {
        use crate::actors::hub::Revoked;
        let now_s = self.now().div_euclid(1000);
        let r = self.store.token_revocations(now_s, self.leeway_s()).await?;
        let mut news = Vec::new();
        if let Ok(mut m) = self.revoked_jti.write() {
            for (jti, exp) in r.jtis {
                if m.insert(jti.clone(), exp).is_none() {
                    news.push(Revoked::Token(jti));
                }
            }
        }
        if let Ok(mut m) = self.changed_users.write() {
            for (uid, version) in r.users {
                let known = m.entry(uid).or_insert(0);
                if version > *known {
                    *known = version;
                    news.push(Revoked::User(uid));
                }
            }
        }
        let live: HashMap<[u8; 32], DisplayToken> = self
            .store
            .live_display_tokens()
            .await?
            .into_iter()
            .filter_map(|(hash, t)| Some((<[u8; 32]>::try_from(hash.as_slice()).ok()?, t)))
            .collect();
        if let Ok(mut d) = self.displays.write() {
            for t in d.values().filter(|t| !live.values().any(|l| l.id == t.id)) {
                news.push(Revoked::Display(t.id));
            }
            *d = live;
        }
        Ok(news)
    }

    fn leeway_s(&self) -> i64 {
        i64::try_from(self.settings.leeway.as_secs()).unwrap_or(30)
    }

    fn now(&self) -> EpochMs {
        self.clock.now_ms()
    }

    /// Signs an access token for `user`.
    pub fn access_token(&self, user: &User) -> Result<String, AuthError> {
        let now_s = self.now().div_euclid(1000);
        let ttl = i64::try_from(self.settings.access_ttl.as_secs()).unwrap_or(1800);
        let jti = hex::encode(secret::random_bytes::<12>().map_err(internal)?);
        self.keys
            .sign(&Claims {
                sub: user.username.clone(),
                uid: user.id,
                role: user.role,
                lines: user.lines.clone(),
                iss: self.settings.issuer.clone(),
                aud: self.settings.audience.clone(),
                exp: now_s + ttl,
                nbf: now_s,
                iat: now_s,
                jti,
                ver: user.token_version,
            })
            .map_err(internal)
    }

    fn tokens(&self, user: User, refresh: String, expires_at: EpochMs) -> Result<Tokens, AuthError> {
        Ok(Tokens {
            access_token: self.access_token(&user)?,
            token_type: "Bearer",
            expires_in: i64::try_from(self.settings.access_ttl.as_secs()).unwrap_or(1800),
            refresh_token: refresh,
            refresh_expires_in: (expires_at - self.now()).max(0) / 1000,
            user,
        })
    }

    /// Runs an argon2 verification with bounded concurrency. The permit goes with the
    /// blocking job, so a cancelled request does not free it while the hash still runs.
    async fn verify(&self, password: &str, hash: String) -> Result<bool, AuthError> {
        let permit = tokio::time::timeout(std::time::Duration::from_secs(10), self.hashing.clone().acquire_owned())
            .await
            .map_err(|_| AuthError::Busy)?
            .map_err(internal)?;
        let given = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let matches = password::verify(&given, &hash);
            drop(permit);
            matches
        })
        .await
        .map_err(internal)
    }

    /// Signs a user in from `addr`.
    pub async fn login(&self, username: &str, password: &str, addr: &str) -> Result<Tokens, AuthError> {
        let now = self.now();
        // Keys are bounded: a megabyte of username is one failure, not a megabyte kept.
        let user_key: String = username
            .to_lowercase()
            .chars()
            .take(accounts::MAX_USERNAME_CHARS)
            .collect();
        let addr_key = addr.to_owned();
        let before = {
            let (Ok(mut users), Ok(mut addrs)) = (self.users_throttle.lock(), self.addrs_throttle.lock()) else {
                return Err(AuthError::Internal("throttle lock poisoned".into()));
            };
            if let Err(ms) = users.check(&user_key, now).and(addrs.check(&addr_key, now)) {
                return Err(AuthError::Locked((ms + 999) / 1000));
            }
            // Counted before the password is checked, so parallel guesses cannot all slip
            // through the check; an attempt that did not fail is put back as it was.
            let before = (users.entry(&user_key), addrs.entry(&addr_key));
            users.failed(&user_key, now);
            addrs.failed(&addr_key, now);
            before
        };
        let outcome = self.check_password(username, password, now).await;
        if let (Ok(mut users), Ok(mut addrs)) = (self.users_throttle.lock(), self.addrs_throttle.lock()) {
            match &outcome {
                Err(AuthError::InvalidCredentials) => {}
                Ok(_) => {
                    users.succeeded(&user_key);
                    addrs.restore(&addr_key, before.1);
                }
                Err(_) => {
                    users.restore(&user_key, before.0);
                    addrs.restore(&addr_key, before.1);
                }
            }
        }
        outcome
    }

    async fn check_password(&self, username: &str, password: &str, now: EpochMs) -> Result<Tokens, AuthError> {
        if self.store.user_count().await? == 0 {
            return Err(AuthError::NoUsers);
        }
        let found = if accounts::valid_username(username) {
            self.store.user_with_hash(username).await?
        } else {
            None
        };
        let hash = match &found {
            Some((u, h)) if !u.disabled => h.clone(),
            _ => self.dummy_hash.clone(),
        };
        let matches = self.verify(password, hash).await?;
        let Some((user, _)) = found.filter(|(u, _)| matches && !u.disabled) else {
            return Err(AuthError::InvalidCredentials);
        };
        let family = hex::encode(secret::random_bytes::<16>().map_err(internal)?);
        let refresh = new_token(REFRESH_PREFIX).map_err(internal)?;
        let refresh_ms = i64::try_from(self.settings.refresh_ttl.as_millis()).unwrap_or(i64::MAX);
        let expires_at = now.saturating_add(refresh_ms);
        let stored = self
            .store
            .insert_refresh(&NewRefresh {
                hash: &digest(&refresh),
                family: &family,
                user_id: user.id,
                now,
                expires_at,
                token_version: user.token_version,
            })
            .await?;
        if !stored {
            // The account changed (password, disable …) while the password was checked.
            return Err(AuthError::InvalidCredentials);
        }
        self.tokens(user, refresh, expires_at)
    }

    /// Exchanges a refresh token for new tokens; the old one dies. Reusing a rotated
    /// token revokes its whole family.
    pub async fn refresh(&self, token: &str) -> Result<Tokens, AuthError> {
        let now = self.now();
        let Some(row) = self.store.refresh_token(&digest(token)).await? else {
            return Err(AuthError::InvalidRefresh);
        };
        let reuse = || AuthError::RefreshReuse {
            user_id: row.user_id,
            family: row.family.clone(),
        };
        if row.rotated_at.is_some() {
            self.store.revoke_family(&row.family, now).await?;
            return Err(reuse());
        }
        if row.revoked_at.is_some() || row.expires_at <= now {
            return Err(AuthError::InvalidRefresh);
        }
        let user = match self.store.user_by_id(row.user_id).await? {
            Some(u) if !u.disabled => u,
            _ => return Err(AuthError::InvalidRefresh),
        };
        // The successor expires with the sign-in's first token: a sign-in lasts at most
        // `refresh_ttl`, however often it refreshes.
        let refresh = new_token(REFRESH_PREFIX).map_err(internal)?;
        let next = NewRefresh {
            hash: &digest(&refresh),
            family: &row.family,
            user_id: user.id,
            now,
            expires_at: row.expires_at,
            token_version: user.token_version,
        };
        if !self.store.rotate_refresh(row.id, &next).await? {
            let again = self.store.refresh_token(&digest(token)).await?;
            if again.is_some_and(|r| r.rotated_at.is_some()) {
                // Another request rotated it a moment ago: one of the two is a copy.
                self.store.revoke_family(&row.family, now).await?;
                return Err(reuse());
            }
            // Revoked, or the account changed, while this refresh ran.
            return Err(AuthError::InvalidRefresh);
        }
        self.tokens(user, refresh, row.expires_at)
    }

    /// Signs out: revokes the refresh token's family and the access token. Returns the
    /// user id if the refresh token was known.
    pub async fn logout(&self, refresh: Option<&str>, access: Option<&Claims>) -> Result<Option<i64>, AuthError> {
        if let Some(c) = access {
            self.store.revoke_access_token(&c.jti, c.exp).await?;
            if let Ok(mut revoked) = self.revoked_jti.write() {
                // Kept while the token could still pass: until `exp` + leeway.
                let (now_s, leeway) = (self.now().div_euclid(1000), self.leeway_s());
                revoked.retain(|_, exp| *exp + leeway >= now_s);
                revoked.insert(c.jti.clone(), c.exp);
            }
        }
        let Some(token) = refresh else {
            return Ok(access.map(|c| c.uid));
        };
        let Some(row) = self.store.refresh_token(&digest(token)).await? else {
            return Ok(access.map(|c| c.uid));
        };
        self.store.revoke_family(&row.family, self.now()).await?;
        Ok(Some(row.user_id))
    }

    /// Access tokens of `user` from before its current `token_version` stop working (after
    /// a role, scope, password or disable change, which the store recorded).
    pub fn user_changed(&self, user: &User) {
        if let Ok(mut m) = self.changed_users.write() {
            let known = m.entry(user.id).or_insert(0);
            *known = (*known).max(user.token_version);
        }
    }

    /// The claims of a valid access token.
    pub fn access_claims(&self, token: &str) -> Option<Claims> {
        let claims = match self.keys.verify(token, self.now()) {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(error = %e, "access token refused");
                return None;
            }
        };
        let signed_out = self.revoked_jti.read().is_ok_and(|r| r.contains_key(&claims.jti));
        let stale = self
            .changed_users
            .read()
            .is_ok_and(|m| m.get(&claims.uid).is_some_and(|version| claims.ver < *version));
        (!signed_out && !stale).then_some(claims)
    }

    /// Who a bearer credential belongs to, with the claims of an access token; `None` if
    /// it is not valid.
    pub fn authenticate(&self, credential: &str) -> Option<(Principal, Option<Claims>)> {
        if credential.starts_with(DISPLAY_PREFIX) {
            let displays = self.displays.read().ok()?;
            let t = displays.get(&digest(credential))?;
            let display = Principal::Display {
                id: t.id,
                name: t.name.clone(),
                lines: t.lines.clone(),
            };
            return Some((display, None));
        }
        if credential.matches('.').count() == 2 {
            return self.access_claims(credential).map(|c| {
                let user = Principal::User {
                    username: c.sub.clone(),
                    role: c.role,
                    lines: c.lines.clone(),
                };
                (user, Some(c))
            });
        }
        if let Some(t) = &self.settings.ingest_token
            && same_secret(credential, t)
        {
            return Some((Principal::Ingest, None));
        }
        if let Some(t) = &self.settings.metrics_token
            && same_secret(credential, t)
        {
            return Some((Principal::Metrics, None));
        }
        if let Some(t) = &self.settings.forward_token
            && same_secret(credential, t)
        {
            return Some((Principal::Forward, None));
        }
        None
    }

    /// Whether `/metrics` needs a credential.
    pub fn metrics_protected(&self) -> bool {
        self.settings.metrics_token.is_some()
    }

    /// Makes a display token; the secret is returned once and stored only as a hash.
    pub async fn create_display_token(
        &self,
        name: &str,
        lines: &Option<Vec<String>>,
        by: &str,
    ) -> Result<(String, DisplayToken), AuthError> {
        let token = new_token(DISPLAY_PREFIX).map_err(internal)?;
        let hash = digest(&token);
        let stored = self
            .store
            .insert_display_token(name, &hash, lines, by, self.now())
            .await?;
        if let Ok(mut d) = self.displays.write() {
            d.insert(hash, stored.clone());
        }
        Ok((token, stored))
    }

    /// Revokes a display token; it stops working at once (open sockets are closed by the caller).
    pub async fn revoke_display_token(&self, id: i64, by: &str) -> Result<Option<DisplayToken>, AuthError> {
        let revoked = self.store.revoke_display_token(id, by, self.now()).await?;
        if revoked.is_some()
            && let Ok(mut d) = self.displays.write()
        {
            d.retain(|_, t| t.id != id);
        }
        Ok(revoked)
    }
}
