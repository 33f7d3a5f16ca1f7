-- The working-day calendar (R-CALENDAR, R-HOURS): loaded year arrangements, regions' local
-- days, halls' office hours, and a change counter every instance watches to rebuild its cache.

CREATE TABLE calendar_years (
    year        BIGINT PRIMARY KEY,
    source      TEXT   NOT NULL,  -- the notices' titles and 文号
    arrangement TEXT   NOT NULL,  -- JSON of the arrangement (the import format)
    origin      TEXT   NOT NULL,  -- 'shipped' (seeded from data/calendar) or 'admin'
    updated_at  BIGINT NOT NULL,
    updated_by  TEXT   NOT NULL
);

CREATE TABLE calendar_region_days (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    region     TEXT   NOT NULL,
    day        TEXT   NOT NULL,  -- YYYY-MM-DD
    kind       TEXT   NOT NULL,  -- 'holiday' | 'workday'
    name       TEXT,
    created_at BIGINT NOT NULL,
    created_by TEXT   NOT NULL,
    UNIQUE (region, day)
);

CREATE TABLE hall_office_hours (
    hall       TEXT PRIMARY KEY,
    hours      TEXT   NOT NULL,  -- JSON: {"workday":["09:00-12:00",…],"extended":[…],"restday":[…],"holiday":[…]}
    updated_at BIGINT NOT NULL,
    updated_by TEXT   NOT NULL
);

CREATE TABLE calendar_version (
    id      BIGINT PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO calendar_version (id, version) VALUES (1, 0);
