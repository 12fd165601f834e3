-- Manual rejects: parts a person found bad after the PLC counted them good. Each row is a
-- parts correction of `quantity` good parts on its machine at `at_ms` (counted by every
-- past-span query in the minute of `at_ms`, as PLC parts are); a voided row is kept with
-- who voided it, when and why, and counts no more. Times are ms since the epoch (UTC).
CREATE TABLE rejects (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    line_id      TEXT NOT NULL,
    machine_id   TEXT NOT NULL,
    defect       TEXT NOT NULL,
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    note         TEXT,
    at_ms        INTEGER NOT NULL,
    logged_by    TEXT NOT NULL,
    logged_at_ms INTEGER NOT NULL,
    voided_at_ms INTEGER,
    voided_by    TEXT,
    void_reason  TEXT
);
CREATE INDEX rejects_machine_at ON rejects (machine_id, at_ms);
CREATE INDEX rejects_line_at ON rejects (line_id, at_ms);
