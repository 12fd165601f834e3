-- Telemetry: what machines did, per interval and per minute. Times are ms since the epoch (UTC).

-- The machine was in `state` during [start_ms, end_ms). The open interval is checkpointed
-- (same key, later end), so a crash loses at most one flush interval.
CREATE TABLE machine_state_intervals (
    machine_id TEXT NOT NULL,
    start_ms   INTEGER NOT NULL,
    end_ms     INTEGER NOT NULL,
    state      TEXT NOT NULL,
    micro_stop INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (machine_id, start_ms)
) WITHOUT ROWID;
CREATE INDEX machine_state_intervals_end ON machine_state_intervals (machine_id, end_ms);

-- Parts per machine, minute and product; ideal_ms = Σ ideal cycle time × parts.
CREATE TABLE production_counts (
    machine_id TEXT NOT NULL,
    minute_ms  INTEGER NOT NULL,
    product    TEXT NOT NULL DEFAULT '',
    total      INTEGER NOT NULL,
    good       INTEGER NOT NULL,
    ideal_ms   INTEGER NOT NULL,
    PRIMARY KEY (machine_id, minute_ms, product)
) WITHOUT ROWID;

-- Unplanned downtime: from leaving `running` until running again (or a planned stop).
CREATE TABLE downtime_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    machine_id TEXT NOT NULL,
    line_id    TEXT NOT NULL,
    start_ms   INTEGER NOT NULL,
    end_ms     INTEGER,
    reason     TEXT NOT NULL,
    micro_stop INTEGER NOT NULL DEFAULT 0,
    UNIQUE (machine_id, start_ms)
);
CREATE INDEX downtime_events_start ON downtime_events (start_ms);

-- Raw tag samples (optional, retention-limited).
CREATE TABLE tag_samples (
    tag     TEXT NOT NULL,
    ts_ms   INTEGER NOT NULL,
    value   REAL NOT NULL,
    quality TEXT NOT NULL,
    PRIMARY KEY (tag, ts_ms)
) WITHOUT ROWID;
CREATE INDEX tag_samples_ts ON tag_samples (ts_ms);

-- The last value applied per tag: counter baselines and duplicate/late detection survive restarts.
CREATE TABLE tag_last (
    tag   TEXT PRIMARY KEY,
    ts_ms INTEGER NOT NULL,
    value REAL NOT NULL
) WITHOUT ROWID;
