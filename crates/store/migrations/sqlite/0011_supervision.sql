-- Supervision (电子监察, R-SUPERVISE), issue 13: 督办 notices and anomalies, the daily rollup
-- of the director's numbers, window rankings kept per period, and a supervisor's region.

-- A supervisor scoped to a region sees the halls below it and nothing else.
ALTER TABLE accounts ADD COLUMN region TEXT;

-- One row per 督办 notice or anomaly. `subject_id` is a case number, `number/node` for a step,
-- or a rectification id; `evidence` (JSON) names the case events an anomaly rests on.
CREATE TABLE supervision_records (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT   NOT NULL,
    subject_kind TEXT   NOT NULL,
    subject_id   TEXT   NOT NULL,
    case_number  TEXT,
    hall         TEXT,
    department   TEXT,
    -- Who must act (an account's event name, or the unit when nobody has claimed the work)
    -- and the head who reads along (an account name from the supervision settings).
    owner        TEXT,
    head         TEXT,
    state        TEXT   NOT NULL,
    note         TEXT   NOT NULL,
    evidence     TEXT   NOT NULL DEFAULT '[]',
    due_on       TEXT,
    deadline     TEXT,
    opened_on    TEXT   NOT NULL,
    closed_on    TEXT,
    decided_by   TEXT,
    reason       TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX supervision_records_subject ON supervision_records (subject_kind, subject_id, state);
CREATE INDEX supervision_records_state ON supervision_records (state, id);
CREATE INDEX supervision_records_opened ON supervision_records (opened_on, hall);
-- An anomaly is recorded once per case and kind, however often the sweep reads the case.
CREATE UNIQUE INDEX supervision_records_anomaly ON supervision_records (kind, subject_id)
    WHERE kind <> 'overdue';

-- The daily rollup: a day's counts by hall, department, item, window and staff member ('' / 0
-- when the count is not about one; a row is about at most one of window and staff, so sums never
-- count twice). Rewritten whole for a day; a period sums rows.
CREATE TABLE stats_daily (
    day        TEXT   NOT NULL,
    hall       TEXT   NOT NULL,
    department TEXT   NOT NULL,
    item       TEXT   NOT NULL,
    window_id  BIGINT NOT NULL,
    staff      TEXT   NOT NULL,
    metric     TEXT   NOT NULL,
    value      BIGINT NOT NULL,
    PRIMARY KEY (day, hall, department, item, window_id, staff, metric)
);
CREATE INDEX stats_daily_hall ON stats_daily (hall, day);

-- Kept from the daily rollup whenever a day is rewritten, so a dashboard reads a few rows per
-- hall instead of every department × item × day: a hall's day totals (window 0 rows summed),
-- and each month's rows summed over its days.
CREATE TABLE stats_hall_daily (
    day    TEXT   NOT NULL,
    hall   TEXT   NOT NULL,
    metric TEXT   NOT NULL,
    value  BIGINT NOT NULL,
    PRIMARY KEY (day, hall, metric)
);
CREATE TABLE stats_monthly (
    month      TEXT   NOT NULL,
    hall       TEXT   NOT NULL,
    department TEXT   NOT NULL,
    item       TEXT   NOT NULL,
    window_id  BIGINT NOT NULL,
    staff      TEXT   NOT NULL,
    metric     TEXT   NOT NULL,
    value      BIGINT NOT NULL,
    PRIMARY KEY (month, hall, department, item, window_id, staff, metric)
);

-- Which days are rolled up, and the case events already read for anomalies.
CREATE TABLE stats_days (
    day         TEXT   PRIMARY KEY,
    computed_at BIGINT NOT NULL
);
CREATE TABLE supervision_cursor (
    name    TEXT   PRIMARY KEY,
    last_id BIGINT NOT NULL
);

-- A closed period's ranking of a hall's windows or staff, kept: the next period's 约谈 reads
-- the last bottom. `subject` is a window id or a username.
CREATE TABLE window_rankings (
    period     TEXT   NOT NULL,
    hall       TEXT   NOT NULL,
    kind       TEXT   NOT NULL,
    subject    TEXT   NOT NULL,
    place      BIGINT NOT NULL,
    score      REAL NOT NULL,
    inputs     TEXT   NOT NULL,
    flag       BOOLEAN NOT NULL,
    talk       BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (period, hall, kind, subject)
);

-- Running cases by due date: the sweep's and the dashboard's red and yellow counts.
CREATE INDEX cases_running_due ON cases (due_date, hall)
    WHERE status IN ('accepted', 'routed', 'in_progress');
