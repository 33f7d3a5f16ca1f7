-- The hall feed reads "hall events after id N" for every hall at once. Without this index that
-- query walks the whole event log by id, skipping every case and account event, each second: with
-- a million cases behind the cursor, acceptance throughput fell by more than half. Only hall
-- events enter this index, so the read costs what the new hall events cost.
CREATE INDEX events_hall_feed ON events (id) WHERE hall IS NOT NULL;
