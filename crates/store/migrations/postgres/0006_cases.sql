-- Cases (办件): applicants, item and process versions, the case's own event stream, the
-- material vault, certificates, issuance and the notification outbox.
-- Timestamps are UTC microseconds (BIGINT); dates are 'YYYY-MM-DD' text; JSON is TEXT.

-- The full ID and phone numbers live only here, read only by the store (R-PII); everything
-- else (case events, the event log, lists) carries the masked values.
CREATE TABLE applicants (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         TEXT   NOT NULL,
    id_number    TEXT   NOT NULL,
    name         TEXT   NOT NULL,
    phone        TEXT   NOT NULL,
    id_masked    TEXT   NOT NULL,
    phone_masked TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (kind, id_number)
);

-- The item as a case received it: a running case keeps the version it started with.
CREATE TABLE item_versions (
    code       TEXT   NOT NULL,
    version    BIGINT NOT NULL,
    body       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (code, version)
);

-- Process definitions, versioned: a saved change is a new version.
CREATE TABLE process_definitions (
    code       TEXT   NOT NULL,
    version    BIGINT NOT NULL,
    body       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (code, version)
);

-- Bundle definitions (一件事) as bundle cases receive them, versioned like items.
CREATE TABLE bundle_versions (
    code       TEXT   NOT NULL,
    version    BIGINT NOT NULL,
    body       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (code, version)
);

-- The parent case of a bundle application: one receipt, materials asked once; its sub-cases
-- are `cases` rows whose `parent` is this number.
CREATE TABLE bundle_cases (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number         TEXT   NOT NULL UNIQUE,
    bundle         TEXT   NOT NULL,
    bundle_version BIGINT NOT NULL,
    applicant_id   BIGINT NOT NULL REFERENCES applicants (id),
    hall           TEXT,
    materials      TEXT   NOT NULL,
    answers        TEXT   NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

-- Per-day sequence of readable case numbers (YC + yymmdd + sequence).
CREATE TABLE case_numbers (
    day  TEXT   PRIMARY KEY,
    last BIGINT NOT NULL
);

CREATE TABLE cases (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number          TEXT   NOT NULL UNIQUE,
    item            TEXT   NOT NULL,
    item_version    BIGINT NOT NULL,
    department      TEXT   NOT NULL,
    hall            TEXT,
    applicant_id    BIGINT NOT NULL REFERENCES applicants (id),
    status          TEXT   NOT NULL,
    process_code    TEXT   NOT NULL,
    process_version BIGINT NOT NULL,
    parent          TEXT,
    received_at     BIGINT NOT NULL,
    accepted_on     TEXT,
    -- Derived on every change for lists; the case page derives it afresh (principle 3).
    due_date        TEXT,
    events          BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX cases_department ON cases (department, status);
CREATE INDEX cases_applicant ON cases (applicant_id);
CREATE INDEX cases_parent ON cases (parent);

-- The case's own events, as the domain folds them (Case::replay), numbered per case.
CREATE TABLE case_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id    BIGINT NOT NULL REFERENCES cases (id),
    seq        BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    actor      TEXT   NOT NULL,
    department TEXT,
    kind       TEXT   NOT NULL,
    body       TEXT   NOT NULL,
    UNIQUE (case_id, seq)
);
CREATE INDEX case_events_department ON case_events (department, case_id);

CREATE FUNCTION case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'case events are append-only'; END $$;
CREATE TRIGGER case_events_no_update BEFORE UPDATE OR DELETE ON case_events
FOR EACH ROW EXECUTE FUNCTION case_events_append_only();

-- The open steps of every case, rewritten on each change: the department worklists.
CREATE TABLE case_steps (
    case_id    BIGINT NOT NULL REFERENCES cases (id),
    node       TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    department TEXT,
    role       TEXT   NOT NULL,
    since      BIGINT NOT NULL,
    due        TEXT   NOT NULL,
    claimed_by TEXT,
    PRIMARY KEY (case_id, node)
);
CREATE INDEX case_steps_department ON case_steps (department, due);

-- Content-addressed blobs; `data` is used by the database blob store only.
CREATE TABLE vault_blobs (
    sha256       TEXT   PRIMARY KEY,
    size         BIGINT NOT NULL,
    content_type TEXT   NOT NULL,
    data         BYTEA,
    created_at   BIGINT NOT NULL
);

-- A material of an applicant, reusable across cases and departments (材料共享).
CREATE TABLE vault_materials (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    applicant_id  BIGINT NOT NULL REFERENCES applicants (id),
    material_code TEXT   NOT NULL,
    name          TEXT   NOT NULL,
    sha256        TEXT   NOT NULL REFERENCES vault_blobs (sha256),
    valid_until   TEXT,
    source_case   TEXT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX vault_materials_owner ON vault_materials (applicant_id, material_code);

CREATE TABLE certificates (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number       TEXT   NOT NULL UNIQUE,
    case_number  TEXT   NOT NULL UNIQUE,
    item         TEXT   NOT NULL,
    applicant_id BIGINT NOT NULL REFERENCES applicants (id),
    issued_on    TEXT   NOT NULL,
    valid_until  TEXT,
    created_at   BIGINT NOT NULL
);

CREATE TABLE issuances (
    case_number     TEXT   PRIMARY KEY,
    method          TEXT   NOT NULL,
    pickup_code     TEXT,
    carrier         TEXT,
    tracking_number TEXT,
    certificate     TEXT,
    address         TEXT,
    issued_at       BIGINT NOT NULL
);

-- Every message to an applicant, written with the change that causes it; a sender claims
-- and marks it in one transaction, so nothing is sent twice.
CREATE TABLE outbox (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       TEXT   NOT NULL,
    subject    TEXT   NOT NULL,
    recipient  TEXT   NOT NULL,
    body       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    due_at     BIGINT NOT NULL,
    sent_at    BIGINT,
    sent_by    TEXT,
    attempts   BIGINT NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (due_at) WHERE sent_at IS NULL;
CREATE INDEX outbox_subject ON outbox (subject);

-- The applicant's phone login: a one-time code sent through the outbox (stored as a digest),
-- and the sessions it opens (digests of the tokens).
CREATE TABLE applicant_codes (
    phone      TEXT   PRIMARY KEY,
    code_hash  TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE applicant_sessions (
    token_hash TEXT   PRIMARY KEY,
    phone      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
