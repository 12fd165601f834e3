-- PostgreSQL twin of migrations/sqlite/0008_reports.sql.
-- Shift reports, stored by the report actor when each shift ends and replaced when a
-- supervisor regenerates one: one row per line and shift occurrence (the shift's name and
-- the plant-local date it starts on). The body is the line's report as JSON. Times are ms
-- since the epoch (UTC).
CREATE TABLE shift_reports (
    line_id         TEXT NOT NULL,
    shift_name      TEXT NOT NULL,
    -- plant-local date the occurrence starts on, YYYY-MM-DD
    shift_date      TEXT NOT NULL,
    start_ms        BIGINT NOT NULL,
    end_ms          BIGINT NOT NULL,
    generated_at_ms BIGINT NOT NULL,
    -- `system` at shift end, else who regenerated it
    generated_by    TEXT NOT NULL,
    body            TEXT NOT NULL,
    PRIMARY KEY (line_id, shift_name, shift_date)
);
CREATE INDEX shift_reports_end ON shift_reports (end_ms);

-- Jobs that ran within a span are found by their `running` transitions.
CREATE INDEX job_events_state ON job_events (state, at_ms);
