-- Work orders (R-WO-LOOP, R-HOTLINE) and the bottleneck ledger (R-LEDGER), issue 12.
-- A row keeps the order's whole state (`state`, the domain's WorkOrder as JSON) beside the
-- columns the lists filter and sort by; the events remain the record.

CREATE TABLE work_orders (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    number          TEXT    NOT NULL UNIQUE,
    -- The requester's link and Open311 token: random, never guessable.
    token           TEXT    NOT NULL UNIQUE,
    hall            TEXT,
    source          TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    category        TEXT,
    lead_unit       TEXT,
    requester_name  TEXT    NOT NULL DEFAULT '',
    requester_phone TEXT,
    place           TEXT    NOT NULL DEFAULT '',
    body            TEXT    NOT NULL,
    case_number     TEXT,
    ticket_id       BIGINT,
    rating_id       BIGINT,
    -- The 12345 platform's own id of an imported order (an import is idempotent on it).
    external_id     TEXT    UNIQUE,
    merged_into     TEXT,
    due_on          TEXT,
    received_on     TEXT    NOT NULL,
    created_by      TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    closed_at       BIGINT,
    state           TEXT    NOT NULL
);
-- The board (open orders by due date, unclassified first), a unit's worklist, the closed list,
-- and the duplicate search's two ways in (category, phone), newest first.
CREATE INDEX work_orders_open ON work_orders (due_on, id) WHERE closed_at IS NULL;
CREATE INDEX work_orders_unit ON work_orders (lead_unit, due_on, id) WHERE closed_at IS NULL;
CREATE INDEX work_orders_closed ON work_orders (closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX work_orders_category ON work_orders (category, id);
CREATE INDEX work_orders_phone ON work_orders (requester_phone, id);

-- Assisting units (协办), for their worklists.
CREATE TABLE work_order_units (
    order_id BIGINT NOT NULL,
    unit     TEXT   NOT NULL,
    PRIMARY KEY (order_id, unit)
);
CREATE INDEX work_order_units_unit ON work_order_units (unit);

-- Attachments (photos, letters): the bytes in the vault's blob store, by hash.
CREATE TABLE work_order_files (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id     BIGINT  NOT NULL,
    name         TEXT    NOT NULL,
    sha256       TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         BIGINT  NOT NULL,
    added_by     TEXT    NOT NULL,
    added_at     BIGINT  NOT NULL
);
CREATE INDEX work_order_files_order ON work_order_files (order_id);

CREATE TABLE work_order_numbers (
    day  TEXT   PRIMARY KEY,
    last BIGINT NOT NULL
);

CREATE TABLE ledger_entries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    hall        TEXT,
    source      TEXT    NOT NULL,
    point       TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    description TEXT    NOT NULL,
    owner       TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    deadline    TEXT    NOT NULL,
    revisit_on  TEXT,
    created_by  TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    state       TEXT    NOT NULL
);
CREATE INDEX ledger_entries_status ON ledger_entries (status, deadline);

CREATE TABLE ledger_links (
    entry_id      BIGINT NOT NULL,
    work_order_id BIGINT NOT NULL,
    PRIMARY KEY (entry_id, work_order_id)
);
CREATE INDEX ledger_links_order ON ledger_links (work_order_id);
