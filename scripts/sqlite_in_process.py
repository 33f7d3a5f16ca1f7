#!/usr/bin/env python3
"""SQLite's own cost of one statement, in process (Python's sqlite3 module, C calls, no thread
hand-off): the peer of `load --scenario statement-trip` (docs/performance.md)."""
import argparse
import sqlite3
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("--seconds", type=float, default=5)
a = ap.parse_args()
with tempfile.NamedTemporaryFile(suffix=".db") as f:
    db = sqlite3.connect(f.name)
    db.execute("PRAGMA journal_mode = WAL")
    n, end = 0, time.perf_counter() + a.seconds
    while time.perf_counter() < end:
        for _ in range(1000):
            assert db.execute("SELECT CAST(1 AS BIGINT)").fetchone()[0] == 1
        n += 1000
    print(f"scenario=sqlite-in-process statements={n} per_s={n / a.seconds:.0f} "
          f"mean_us={a.seconds / n * 1e6:.1f}")
