-- Products made at run time (the plant model's products stay the defaults) and jobs
-- (work orders) with every state change. Times are ms since the epoch (UTC).

CREATE TABLE products (
    code           TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    -- Ideal cycle time on any machine without its own, ms.
    ideal_cycle_ms INTEGER NOT NULL,
    -- {"machine-id": ms, …}: per-machine ideal cycle times.
    machine_cycles TEXT NOT NULL DEFAULT '{}',
    updated_at_ms  INTEGER NOT NULL,
    updated_by     TEXT NOT NULL
);

CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    line_id          TEXT NOT NULL,
    product_code     TEXT NOT NULL,
    target           INTEGER NOT NULL,
    planned_start_ms INTEGER,
    planned_end_ms   INTEGER,
    notes            TEXT NOT NULL DEFAULT '',
    state            TEXT NOT NULL,
    created_at_ms    INTEGER NOT NULL,
    created_by       TEXT NOT NULL
);
CREATE INDEX jobs_line ON jobs (line_id, created_at_ms);
-- At most one running job per line, whatever races the HTTP layer loses.
CREATE UNIQUE INDEX jobs_one_running ON jobs (line_id) WHERE state = 'running';

-- Every transition: the job entered `state` at `at_ms`, by `actor`.
CREATE TABLE job_events (
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    seq    INTEGER NOT NULL,
    at_ms  INTEGER NOT NULL,
    state  TEXT NOT NULL,
    actor  TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
