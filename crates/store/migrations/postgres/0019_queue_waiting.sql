-- SQLite keeps each queue's waiting count in `queue_waiting` by triggers (its 0019). PostgreSQL
-- counts in the statement instead: there windows call at the same time (SKIP LOCKED), and one
-- counter row per queue would make each call wait for the commit of the one before. This
-- migration keeps the two sets numbered in step.
SELECT 1;
