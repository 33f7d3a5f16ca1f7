-- The hall: halls, queues, windows and who sits at them, tickets with one row per interval
-- (the basis of every waiting and service-time figure), appointments.
-- Timestamps are UTC microseconds (BIGINT); dates are hall-local 'YYYY-MM-DD' text.

CREATE TABLE halls (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code       TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,
    region     TEXT,
    settings   TEXT    NOT NULL DEFAULT '{}',
    notice     TEXT    NOT NULL DEFAULT '',
    created_at BIGINT  NOT NULL
);

CREATE TABLE queues (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hall_id    BIGINT NOT NULL REFERENCES halls (id),
    code       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    prefix     TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    UNIQUE (hall_id, code)
);

CREATE TABLE windows (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hall_id    BIGINT NOT NULL REFERENCES halls (id),
    code       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    -- Who is signed in and how the window stands: open | paused | closed.
    status     TEXT    NOT NULL DEFAULT 'closed',
    staff_id   BIGINT,
    staff_name TEXT,
    created_at BIGINT  NOT NULL,
    UNIQUE (hall_id, code)
);

-- The queues a window serves, in its order of preference (0 first).
CREATE TABLE window_queues (
    window_id BIGINT NOT NULL REFERENCES windows (id),
    queue_id  BIGINT NOT NULL REFERENCES queues (id),
    preference BIGINT NOT NULL,
    PRIMARY KEY (window_id, queue_id)
);

-- One row per stretch a window spent open or paused with a staff member signed in.
CREATE TABLE window_sessions (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    window_id BIGINT NOT NULL REFERENCES windows (id),
    staff_id  BIGINT  NOT NULL,
    status    TEXT    NOT NULL,
    start_at  BIGINT  NOT NULL,
    end_at    BIGINT
);
CREATE INDEX window_sessions_open ON window_sessions (window_id) WHERE end_at IS NULL;

-- Numbers per queue per service day: the counter row is the lock that serialises numbering.
CREATE TABLE ticket_counters (
    queue_id     BIGINT NOT NULL REFERENCES queues (id),
    service_date TEXT   NOT NULL,
    last_seq     BIGINT NOT NULL,
    PRIMARY KEY (queue_id, service_date)
);

CREATE TABLE tickets (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hall_id         BIGINT NOT NULL REFERENCES halls (id),
    -- The queue it waits in now (a transfer changes it) and the queue that numbered it.
    queue_id        BIGINT NOT NULL REFERENCES queues (id),
    number_queue_id BIGINT NOT NULL REFERENCES queues (id),
    service_date    TEXT    NOT NULL,
    seq             BIGINT  NOT NULL,
    number          TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    categories      BIGINT  NOT NULL DEFAULT 0,
    -- Masked text only (R-PII); the hashes count tickets per person and address for limits.
    holder          TEXT,
    person_hash     TEXT,
    address_hash    TEXT,
    status          TEXT    NOT NULL,
    issued_at       BIGINT  NOT NULL,
    waiting_since   BIGINT  NOT NULL,
    -- The instant the policy treats the ticket as having arrived (policy::rank_instant).
    rank_at         BIGINT  NOT NULL,
    since           BIGINT  NOT NULL,
    window_id       BIGINT,
    staff_id        BIGINT,
    recalls         BIGINT  NOT NULL DEFAULT 0,
    transfers       BIGINT  NOT NULL DEFAULT 0,
    close_reason    TEXT,
    appointment_id  BIGINT
);
CREATE UNIQUE INDEX tickets_number ON tickets (number_queue_id, service_date, seq);
CREATE INDEX tickets_line ON tickets (queue_id, status, rank_at, id);
CREATE INDEX tickets_day ON tickets (hall_id, service_date);
CREATE INDEX tickets_person ON tickets (hall_id, service_date, person_hash);
CREATE INDEX tickets_address ON tickets (hall_id, service_date, address_hash);
CREATE INDEX tickets_window ON tickets (window_id, status);

CREATE TABLE ticket_intervals (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    queue_id  BIGINT NOT NULL REFERENCES queues (id),
    kind      TEXT    NOT NULL,
    start_at  BIGINT  NOT NULL,
    end_at    BIGINT,
    window_id BIGINT,
    staff_id  BIGINT
);
CREATE INDEX ticket_intervals_ticket ON ticket_intervals (ticket_id, id);
CREATE INDEX ticket_intervals_start ON ticket_intervals (start_at);
CREATE INDEX ticket_intervals_service ON ticket_intervals (queue_id, kind, end_at);

CREATE TABLE appointments (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hall_id     BIGINT NOT NULL REFERENCES halls (id),
    queue_id    BIGINT NOT NULL REFERENCES queues (id),
    slot_date   TEXT    NOT NULL,
    slot_start  TEXT    NOT NULL,
    slot_end    TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    holder      TEXT,
    person_hash TEXT    NOT NULL,
    reschedules BIGINT  NOT NULL DEFAULT 0,
    ticket_id   BIGINT,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX appointments_slot ON appointments (queue_id, slot_date, slot_start);
CREATE INDEX appointments_person ON appointments (hall_id, person_hash);

-- The hall an event belongs to, so a hall's live feed can resume from the log.
ALTER TABLE events ADD COLUMN hall TEXT;
CREATE INDEX events_hall ON events (hall, id);
