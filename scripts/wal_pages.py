#!/usr/bin/env python3
"""Which tables and indexes a running server's commits write, read from a copy of its SQLite
write-ahead log: frames per commit and, per b-tree, the pages each commit wrote (issue 9's
sixteenth part in docs/performance.md). Copy the database and its `-wal` while the load runs:

    cp "$DB" /tmp/snap/x.db && cp "$DB-wal" /tmp/snap/x.db-wal.orig
    python3 scripts/wal_pages.py /tmp/snap/x.db

Only the frames of the log's current generation count (their salt is the header's)."""
import collections
import shutil
import sqlite3
import struct
import sys

path = sys.argv[1]
log = open(path + "-wal.orig", "rb").read()
_, _, page_size, _, salt1, salt2, _, _ = struct.unpack(">IIIIIIII", log[:32])
commits, current, at = [], [], 32
while at + 24 + page_size <= len(log):
    page, commit_size, s1, s2 = struct.unpack(">IIII", log[at:at + 16])
    if (s1, s2) != (salt1, salt2):
        break
    current.append(page)
    if commit_size:
        commits.append(current)
        current = []
    at += 24 + page_size
frames = sum(len(c) for c in commits)
print(f"page_size={page_size} commits={len(commits)} "
      f"frames_per_commit={frames / max(1, len(commits)):.1f}")
shutil.copy(path + "-wal.orig", path + "-wal")
names = dict((page, name) for name, page in
             sqlite3.connect(path).execute("SELECT name, pageno FROM dbstat"))
per_tree = collections.Counter()
for c in commits:
    for page in set(c):
        per_tree[names.get(page, "?")] += 1
for name, n in per_tree.most_common(30):
    print(f"{n / max(1, len(commits)):6.2f} {name}")
