-- Smart lockers (智能文件柜), issue 14: a locker bank of a hall, its compartments (格口), what
-- they hold (parcels: a result to pick up, or materials dropped off for a supplement) and the
-- controller's messages, kept by their idempotency key so a retried message is answered as
-- before and never acts twice.

CREATE TABLE locker_banks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    code        TEXT    NOT NULL UNIQUE,
    hall        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    place       TEXT    NOT NULL DEFAULT '',
    -- SHA-256 of the controller's device token; the token itself is shown once.
    device_key  TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE locker_compartments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    bank_id     BIGINT  NOT NULL REFERENCES locker_banks (id),
    door        TEXT    NOT NULL,
    size        TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    -- The parcel inside or booked (a compartment holds one thing).
    parcel_id   BIGINT,
    wrong_codes BIGINT  NOT NULL DEFAULT 0,
    locked_at   BIGINT,
    updated_at  BIGINT  NOT NULL,
    UNIQUE (bank_id, door)
);

CREATE TABLE locker_parcels (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    compartment_id BIGINT  NOT NULL REFERENCES locker_compartments (id),
    kind           TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    case_number    TEXT    NOT NULL,
    hall           TEXT    NOT NULL,
    -- SHA-256 of the single-use code and of the applicant's ID number (never stored plain).
    code_digest    TEXT    NOT NULL,
    id_digest      TEXT    NOT NULL,
    phone          TEXT    NOT NULL,
    expires_at     BIGINT  NOT NULL,
    code_used_at   BIGINT,
    -- The staff member who put a result in (the issuance is recorded in their name).
    deposited_by   TEXT,
    booked_at      BIGINT  NOT NULL,
    deposited_at   BIGINT,
    collected_at   BIGINT,
    closed_at      BIGINT,
    created_by     TEXT    NOT NULL
);
CREATE INDEX locker_parcels_case ON locker_parcels (case_number);
CREATE INDEX locker_parcels_open ON locker_parcels (hall, status) WHERE closed_at IS NULL;

CREATE TABLE locker_messages (
    bank_id     BIGINT  NOT NULL,
    message_id  TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    response    TEXT    NOT NULL,
    received_at BIGINT  NOT NULL,
    PRIMARY KEY (bank_id, message_id)
);
