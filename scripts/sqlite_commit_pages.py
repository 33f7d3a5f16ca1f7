#!/usr/bin/env python3
"""What a SQLite `COMMIT` costs on this disk as a function of the pages it writes (WAL mode,
`synchronous=FULL`, automatic checkpoints as the server has them): the peer of the load tool's
`commit_ms` (docs/performance.md, issue 9's sixteenth part). Each transaction updates rows on
N distinct random pages of a 100,000-row table, and only the `COMMIT` is timed."""
import argparse
import os
import random
import sqlite3
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("--commits", type=int, default=300)
a = ap.parse_args()
with tempfile.TemporaryDirectory(dir=os.getcwd()) as d:
    db = sqlite3.connect(os.path.join(d, "pages.db"), isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    db.execute("BEGIN")
    db.executemany("INSERT INTO t VALUES (?, ?)", ((i, "x" * 300) for i in range(100_000)))
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    n = 0
    for pages in (1, 8, 16, 36, 72):
        spent = 0.0
        for _ in range(a.commits):
            # A value not stored before: SQLite leaves a page clean when a row is rewritten
            # with the bytes it holds.
            n += 1
            db.execute("BEGIN")
            # About ten rows of 300 bytes per 4 KiB page: ids 10 apart fall on distinct pages.
            for start in random.sample(range(0, 100_000, 10), pages):
                db.execute("UPDATE t SET v = ? WHERE id = ?", (f"{n:0300}", start))
            t = time.perf_counter()
            db.execute("COMMIT")
            spent += time.perf_counter() - t
        print(f"pages_per_commit={pages} commit_ms={spent / a.commits * 1e3:.3f}")
    fd = os.open(os.path.join(d, "sync"), os.O_WRONLY | os.O_CREAT)
    t = time.perf_counter()
    for i in range(200):
        os.pwrite(fd, b"x" * 4096, i * 4096)
        os.fdatasync(fd)
    print(f"raw_write_4k_and_fdatasync_ms={(time.perf_counter() - t) / 200 * 1e3:.3f}")
    os.close(fd)
