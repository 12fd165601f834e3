-- Accounts, tokens, feature flags and the append-only audit log.

CREATE TABLE users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    username        TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,            -- argon2id PHC string
    role            TEXT NOT NULL,
    lines           TEXT,                     -- JSON array of line ids; NULL: all lines
    disabled        INTEGER NOT NULL DEFAULT 0,
    -- raised by every account change; tokens carry the version they were issued at
    token_version   INTEGER NOT NULL DEFAULT 0,
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL
);

-- Refresh tokens, stored as SHA-256 of the opaque token. A family is one login; rotation
-- adds a row to it, and reuse of a rotated token revokes the whole family.
CREATE TABLE refresh_tokens (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash      BLOB NOT NULL UNIQUE,
    family          TEXT NOT NULL,
    user_id         INTEGER NOT NULL REFERENCES users (id),
    issued_at_ms    INTEGER NOT NULL,
    expires_at_ms   INTEGER NOT NULL,
    rotated_at_ms   INTEGER,
    revoked_at_ms   INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

-- Access tokens signed out before they expire (by JWT id).
CREATE TABLE revoked_access_tokens (
    jti             TEXT PRIMARY KEY,
    expires_at_s    INTEGER NOT NULL
);

CREATE TABLE display_tokens (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL,
    token_hash      BLOB NOT NULL UNIQUE,
    lines           TEXT,                     -- JSON array; NULL: all lines
    created_by      TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    revoked_at_ms   INTEGER,
    revoked_by      TEXT
);

-- Admins' run-time changes of feature flags (configured values apply until one exists).
CREATE TABLE feature_flags (
    name            TEXT PRIMARY KEY,
    enabled         INTEGER NOT NULL,
    updated_by      TEXT NOT NULL,
    updated_at_ms   INTEGER NOT NULL
);

CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms           INTEGER NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    target          TEXT,
    outcome         TEXT NOT NULL,            -- ok | denied | failed
    source          TEXT,                     -- client address
    details         TEXT                      -- JSON object
);
CREATE INDEX audit_log_at ON audit_log (at_ms);
CREATE INDEX audit_log_actor ON audit_log (actor, at_ms);
CREATE INDEX audit_log_action ON audit_log (action, at_ms);

-- Append-only: the database itself refuses changes.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
