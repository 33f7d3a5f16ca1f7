-- The event log's indexes, cut to the look-ups the code makes (issue 9): every event a command
-- appends under the writer's turn pays an entry in each, and a page of each in the commit.
--
-- Hall events are looked up by hall (the display board's calls, one hall's feed); case and
-- account events have no hall and are never looked up so. Only hall events enter the index
-- now. A look-up by `hall = …` implies `hall IS NOT NULL`, so both SQLite and PostgreSQL still
-- use it.
DROP INDEX events_hall;
CREATE INDEX events_hall ON events (hall, id) WHERE hall IS NOT NULL;
-- No query reads the log by time alone: by subject (events_subject), by hall (events_hall) or
-- in order of id (the primary key). Ids are given as events are written, so an audit of a
-- span of time can look up its first and last ids.
DROP INDEX events_at;
