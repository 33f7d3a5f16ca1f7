#!/usr/bin/env python3
"""What naming an indexed column costs a SQLite `UPDATE` whose value does not change: the case
row's update with and without status, acceptance day and due date (issue 9's sixteenth part in
docs/performance.md). A table shaped as `cases`, with its indexes, 20,000 rows with a 1.2 kB
state; 5,000 updates of random rows in one transaction per variant."""
import os
import random
import sqlite3
import tempfile
import time

SCHEMA = """
CREATE TABLE cases (id INTEGER PRIMARY KEY AUTOINCREMENT, number TEXT NOT NULL UNIQUE,
  item TEXT NOT NULL, item_version BIGINT NOT NULL, department TEXT NOT NULL, hall TEXT,
  applicant_id BIGINT NOT NULL, status TEXT NOT NULL, process_code TEXT NOT NULL,
  process_version BIGINT NOT NULL, parent TEXT, received_at BIGINT NOT NULL, accepted_on TEXT,
  due_date TEXT, events BIGINT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
  query_code TEXT, state TEXT, timer_plan TEXT, open_steps TEXT);
CREATE INDEX cases_department ON cases (department, status);
CREATE INDEX cases_applicant ON cases (applicant_id);
CREATE INDEX cases_parent ON cases (parent);
CREATE INDEX cases_running_due ON cases (due_date, hall)
  WHERE status IN ('accepted', 'routed', 'in_progress');
CREATE UNIQUE INDEX cases_query_code ON cases (query_code);
"""
NAMED = ("UPDATE cases SET events = ?, updated_at = ?, state = ?, timer_plan = ?, open_steps = ?, "
         "status = ?, accepted_on = ?, due_date = ? WHERE id = ? AND events = ?")
UNNAMED = ("UPDATE cases SET events = ?, updated_at = ?, state = ?, timer_plan = ?, "
           "open_steps = ? WHERE id = ? AND events = ?")
ROWS, UPDATES = 20_000, 5_000
state = "x" * 1200
with tempfile.TemporaryDirectory(dir=os.getcwd()) as d:
    db = sqlite3.connect(os.path.join(d, "cases.db"), isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.executescript(SCHEMA)
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO cases (number, item, item_version, department, hall, applicant_id, status, "
        "process_code, process_version, received_at, accepted_on, due_date, events, created_at, "
        "updated_at, query_code, state, timer_plan, open_steps) "
        "VALUES (?, 'I', 1, ?, 'H', ?, 'in_progress', 'P', 1, ?, '2026-12-01', '2026-12-20', 0, "
        "?, ?, ?, ?, '', '[]')",
        ((f"YC{i:08}", f"D{i % 20}", i, i, i, i, f"q{i}", state) for i in range(ROWS)))
    db.execute("COMMIT")
    for round_ in range(2):
        for name, sql, args in (
            ("named", NAMED, lambda i, k: (k, k, state, "plan", "[]", "in_progress",
                                          "2026-12-01", "2026-12-20", i, k - 1)),
            ("unnamed", UNNAMED, lambda i, k: (k, k, state, "plan", "[]", i, k - 1)),
        ):
            db.execute("UPDATE cases SET events = 0")
            ids = random.sample(range(1, ROWS + 1), UPDATES)
            t = time.perf_counter()
            db.execute("BEGIN")
            for i in ids:
                db.execute(sql, args(i, 1))
            db.execute("COMMIT")
            print(f"status_and_due_date={name} update_us="
                  f"{(time.perf_counter() - t) / UPDATES * 1e6:.1f}")
