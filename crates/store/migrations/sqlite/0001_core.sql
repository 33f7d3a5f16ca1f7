-- Core: the append-only event log, durable timers, settings.
-- Timestamps are UTC microseconds since the epoch (BIGINT), the same on both backends.

CREATE TABLE events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           BIGINT  NOT NULL,
    actor        TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    subject_type TEXT    NOT NULL,
    subject_id   TEXT    NOT NULL,
    payload      TEXT    NOT NULL
);
CREATE INDEX events_subject ON events (subject_type, subject_id, id);
CREATE INDEX events_at ON events (at);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE timers (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    due_at       BIGINT  NOT NULL,
    payload      TEXT    NOT NULL DEFAULT '{}',
    created_at   BIGINT  NOT NULL,
    fired_at     BIGINT,
    cancelled_at BIGINT,
    claimed_by   TEXT,
    attempts     BIGINT  NOT NULL DEFAULT 0,
    last_error   TEXT
);
CREATE INDEX timers_due ON timers (due_at) WHERE fired_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX timers_subject ON timers (subject, kind);

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
