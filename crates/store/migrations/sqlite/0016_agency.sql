-- Help and proxy service (帮办代办), issue 14 part 2: help requests with their first-contact
-- clock (a key project's request carries milestones), and mandates (授权委托书) that let an
-- agent act for a principal. The mandate's signed document lies in the vault, as the
-- principal's material `mandate`.

CREATE TABLE help_requests (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The citizen's page (/help/{link}): random, never the id.
    link             TEXT    NOT NULL UNIQUE,
    hall             TEXT    NOT NULL,
    source           TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    agent            TEXT,
    citizen_name     TEXT    NOT NULL,
    citizen_phone    TEXT    NOT NULL DEFAULT '',
    need             TEXT    NOT NULL DEFAULT '',
    -- A key project (重点项目全程代办): its name and enterprise.
    project          TEXT,
    enterprise       TEXT,
    ticket_id        BIGINT,
    work_order       TEXT,
    created_at       BIGINT  NOT NULL,
    assigned_at      BIGINT,
    first_contact_at BIGINT,
    closed_at        BIGINT,
    close_note       TEXT    NOT NULL DEFAULT '',
    rating           BIGINT,
    rating_comment   TEXT    NOT NULL DEFAULT '',
    rated_at         BIGINT,
    created_by       TEXT    NOT NULL
);
CREATE INDEX help_requests_hall ON help_requests (hall, state);
CREATE INDEX help_requests_agent ON help_requests (agent, state);
CREATE INDEX help_requests_phone ON help_requests (citizen_phone, state);

CREATE TABLE help_milestones (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id  BIGINT  NOT NULL REFERENCES help_requests (id),
    seq         BIGINT  NOT NULL,
    title       TEXT    NOT NULL,
    due_on      TEXT    NOT NULL,
    case_number TEXT,
    done_at     BIGINT,
    UNIQUE (request_id, seq)
);

CREATE TABLE mandates (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    number              TEXT    NOT NULL UNIQUE,
    hall                TEXT    NOT NULL,
    agent               TEXT    NOT NULL,
    principal_name      TEXT    NOT NULL,
    principal_id_number TEXT    NOT NULL,
    applicant_id        BIGINT  NOT NULL,
    request_id          BIGINT,
    -- JSON lists: item codes, bundle codes, actions.
    items               TEXT    NOT NULL,
    bundles             TEXT    NOT NULL,
    actions             TEXT    NOT NULL,
    valid_from          TEXT    NOT NULL,
    valid_until         TEXT    NOT NULL,
    revoked_at          BIGINT,
    document_sha        TEXT,
    created_at          BIGINT  NOT NULL,
    created_by          TEXT    NOT NULL
);
CREATE INDEX mandates_agent ON mandates (agent);
CREATE INDEX mandates_request ON mandates (request_id);
