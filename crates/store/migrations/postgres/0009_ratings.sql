-- 好差评 and 回访 (issue 11): rating tokens, the append-only ratings, rectifications, callbacks
-- and the window pads' device keys.

-- A single-use token that lets the applicant rate one case or visit at one stage
-- (R-EVAL-ONCE). `ready_at` is set when the subject ends; `phone` (full) only where a
-- callback or an invitation needs it.
CREATE TABLE rating_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token        TEXT    NOT NULL UNIQUE,
    subject_type TEXT    NOT NULL,
    subject_id   TEXT    NOT NULL,
    stage        TEXT    NOT NULL,
    label        TEXT    NOT NULL,
    hall         TEXT,
    department   TEXT,
    item         TEXT,
    window_id    BIGINT,
    staff        TEXT,
    applicant_id BIGINT,
    phone        TEXT,
    created_at   BIGINT  NOT NULL,
    ready_at     BIGINT,
    expires_at   BIGINT  NOT NULL,
    used_at      BIGINT,
    UNIQUE (subject_type, subject_id, stage)
);
CREATE INDEX rating_tokens_pad ON rating_tokens (window_id, ready_at) WHERE used_at IS NULL;

CREATE TABLE ratings (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_id     BIGINT,
    subject_type TEXT    NOT NULL,
    subject_id   TEXT    NOT NULL,
    stage        TEXT    NOT NULL,
    level        BIGINT  NOT NULL,
    indicators   TEXT    NOT NULL DEFAULT '{}',
    comment      TEXT    NOT NULL DEFAULT '',
    channel      TEXT    NOT NULL,
    source       TEXT    NOT NULL,
    bad          BIGINT  NOT NULL DEFAULT 0,
    named        BIGINT  NOT NULL DEFAULT 0,
    question_set BIGINT  NOT NULL DEFAULT 1,
    hall         TEXT,
    department   TEXT,
    item         TEXT,
    window_id    BIGINT,
    staff        TEXT,
    rated_at     BIGINT  NOT NULL,
    month        TEXT    NOT NULL,
    import_key   TEXT    UNIQUE,
    UNIQUE (subject_type, subject_id, stage)
);
CREATE INDEX ratings_month ON ratings (month, hall);
CREATE INDEX ratings_rated_at ON ratings (rated_at, hall);
CREATE FUNCTION ratings_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'ratings are append-only'; END $$;
CREATE TRIGGER ratings_no_update BEFORE UPDATE OR DELETE ON ratings
FOR EACH ROW EXECUTE FUNCTION ratings_append_only();

CREATE TABLE rectifications (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source        TEXT    NOT NULL,
    rating_id     BIGINT,
    callback_id   BIGINT,
    subject_type  TEXT    NOT NULL,
    subject_id    TEXT    NOT NULL,
    label         TEXT    NOT NULL,
    hall          TEXT,
    department    TEXT,
    item          TEXT,
    window_id     BIGINT,
    staff         TEXT,
    problem       TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    outcome       TEXT,
    opened_at     BIGINT  NOT NULL,
    opened_on     TEXT    NOT NULL,
    deadline      TEXT    NOT NULL,
    closed_on     TEXT,
    evidence      TEXT,
    appeal_reason TEXT,
    appeal_note   TEXT,
    rater_level   BIGINT,
    month         TEXT    NOT NULL,
    updated_at    BIGINT  NOT NULL
);
CREATE INDEX rectifications_open ON rectifications (status, deadline);
CREATE INDEX rectifications_rating ON rectifications (rating_id);
-- The few ratings an upheld appeal excludes: the numbers subtract them without a lookup per rating.
CREATE INDEX rectifications_upheld ON rectifications (rating_id) WHERE outcome = 'appeal_upheld';
CREATE INDEX rectifications_opened ON rectifications (opened_at, hall);

CREATE TABLE callbacks (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    attempts         BIGINT  NOT NULL DEFAULT 0,
    subject_type     TEXT    NOT NULL,
    subject_id       TEXT    NOT NULL,
    label            TEXT    NOT NULL,
    rating_id        BIGINT,
    rectification_id BIGINT,
    hall             TEXT,
    department       TEXT,
    item             TEXT,
    phone            TEXT    NOT NULL,
    phone_masked     TEXT    NOT NULL,
    name_masked      TEXT    NOT NULL,
    created_at       BIGINT  NOT NULL,
    due_at           BIGINT  NOT NULL,
    holder_id        BIGINT,
    satisfied        BIGINT,
    problem          TEXT,
    closed_at        BIGINT,
    updated_at       BIGINT  NOT NULL
);
CREATE INDEX callbacks_open ON callbacks (status, due_at);
CREATE INDEX callbacks_rating ON callbacks (rating_id);

-- The rating pad beside a window signs in with a device key (only its digest is kept).
CREATE TABLE rating_pads (
    window_id  BIGINT PRIMARY KEY,
    key_digest TEXT   NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
