-- The case's pending deadline and warning timers as last written (kind, due time, payload), so
-- a command that leaves them as they were writes no timer rows (issue 9). NULL: unknown, the
-- next change writes them.
ALTER TABLE cases ADD COLUMN timer_plan TEXT;
