-- PostgreSQL twin of migrations/sqlite/0010_ticket_assignee.sql.
-- The person an open Andon ticket is assigned to (a username; NULL: nobody). Supervisors set
-- and change it; each change is also an `assigned` or `unassigned` row in `andon_events`.
ALTER TABLE andon_tickets ADD COLUMN assignee TEXT;
