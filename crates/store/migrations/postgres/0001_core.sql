-- Core: the append-only event log, durable timers, settings.
-- Timestamps are UTC microseconds since the epoch (BIGINT), the same on both backends.

CREATE TABLE events (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           BIGINT NOT NULL,
    actor        TEXT   NOT NULL,
    kind         TEXT   NOT NULL,
    subject_type TEXT   NOT NULL,
    subject_id   TEXT   NOT NULL,
    payload      TEXT   NOT NULL
);
CREATE INDEX events_subject ON events (subject_type, subject_id, id);
CREATE INDEX events_at ON events (at);

CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'events are append-only'; END $$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
FOR EACH ROW EXECUTE FUNCTION events_append_only();

CREATE TABLE timers (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         TEXT   NOT NULL,
    subject      TEXT   NOT NULL,
    due_at       BIGINT NOT NULL,
    payload      TEXT   NOT NULL DEFAULT '{}',
    created_at   BIGINT NOT NULL,
    fired_at     BIGINT,
    cancelled_at BIGINT,
    claimed_by   TEXT,
    attempts     BIGINT NOT NULL DEFAULT 0,
    last_error   TEXT
);
CREATE INDEX timers_due ON timers (due_at) WHERE fired_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX timers_subject ON timers (subject, kind);

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
