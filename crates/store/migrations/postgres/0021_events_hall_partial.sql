-- Hall events are looked up by hall (the display board's calls, one hall's feed); case and
-- account events have no hall and are never looked up so. Only hall events enter the index,
-- so the events a case command appends under the writer's turn cost one index entry fewer
-- each (issue 9). A look-up by `hall = …` implies `hall IS NOT NULL`, so both SQLite and
-- PostgreSQL still use it.
DROP INDEX events_hall;
CREATE INDEX events_hall ON events (hall, id) WHERE hall IS NOT NULL;
