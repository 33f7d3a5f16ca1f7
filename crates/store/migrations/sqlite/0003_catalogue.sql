-- The service catalogue: regions, departments, items with their materials, bundles.
-- Codes are the stable identifiers (URLs, exchange files, cases refer to them), so references
-- between catalogue tables use codes; child rows of an item or bundle hang off its id.
--
-- Situations and special procedures are JSON text on the item row: they are only ever read and
-- written together with their item (a full replace), never queried on their own, and keeping
-- them inline makes loading an item two indexed queries (the item, its materials). Materials get
-- rows of their own because cases, the material vault and bundles refer to them one by one.

CREATE TABLE regions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    code       TEXT   NOT NULL UNIQUE,
    name       TEXT   NOT NULL,
    parent     TEXT   REFERENCES regions (code),
    level      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX regions_parent ON regions (parent);

CREATE TABLE departments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    code       TEXT   NOT NULL UNIQUE,
    name       TEXT   NOT NULL,
    region     TEXT   REFERENCES regions (code),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX departments_region ON departments (region);

CREATE TABLE items (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    code                 TEXT    NOT NULL UNIQUE,
    name                 TEXT    NOT NULL,
    department           TEXT    NOT NULL REFERENCES departments (code),
    item_type            TEXT    NOT NULL,
    kind                 TEXT    NOT NULL,
    statutory_limit_days BIGINT  NOT NULL,
    committed_limit_days BIGINT  NOT NULL,
    legal_basis          TEXT    NOT NULL,
    conditions           TEXT    NOT NULL,
    fee                  TEXT    NOT NULL,
    on_site_visits       BIGINT  NOT NULL,
    online               BOOLEAN NOT NULL,
    deemed_approval      BOOLEAN NOT NULL,
    process_description  TEXT    NOT NULL,
    consult_phone        TEXT    NOT NULL,
    location             TEXT    NOT NULL,
    situations           TEXT    NOT NULL,
    special_procedures   TEXT    NOT NULL,
    active               BOOLEAN NOT NULL,
    version              BIGINT  NOT NULL,
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL,
    -- lower(code) and lower(name), what `q` is matched against.
    search_text          TEXT    NOT NULL
);
CREATE INDEX items_department ON items (department, code);
CREATE INDEX items_active ON items (active, code);

-- Character bigrams of search_text: Chinese has no spaces between words, so neither backend's
-- word-based full-text search finds 营业执照 inside 个体工商户营业执照核发; looking the query's
-- bigrams up here narrows a substring search to the candidate items through an index.
CREATE TABLE item_search_grams (
    gram    TEXT   NOT NULL,
    item_id BIGINT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    PRIMARY KEY (gram, item_id)
);
CREATE INDEX item_search_grams_item ON item_search_grams (item_id);

CREATE TABLE item_materials (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id     BIGINT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    code        TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    form        TEXT   NOT NULL,
    copies      BIGINT NOT NULL,
    medium      TEXT   NOT NULL,
    template    TEXT,
    required_if TEXT,
    note        TEXT   NOT NULL,
    UNIQUE (item_id, code)
);
CREATE INDEX item_materials_order ON item_materials (item_id, position);

CREATE TABLE bundles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    code        TEXT   NOT NULL UNIQUE,
    name        TEXT   NOT NULL,
    description TEXT   NOT NULL,
    version     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- One row per member; `prerequisites` is the JSON list of member codes that must be done first.
CREATE TABLE bundle_items (
    bundle_id BIGINT NOT NULL REFERENCES bundles (id) ON DELETE CASCADE,
    position  BIGINT NOT NULL,
    item      TEXT   NOT NULL REFERENCES items (code),
    prerequisites TEXT NOT NULL,
    PRIMARY KEY (bundle_id, item)
);
CREATE INDEX bundle_items_item ON bundle_items (item);

-- `covers` is the JSON list of {"item","material"} the shared material stands for.
CREATE TABLE bundle_shared_materials (
    bundle_id BIGINT NOT NULL REFERENCES bundles (id) ON DELETE CASCADE,
    position  BIGINT NOT NULL,
    code      TEXT   NOT NULL,
    name      TEXT   NOT NULL,
    covers    TEXT   NOT NULL,
    PRIMARY KEY (bundle_id, code)
);
