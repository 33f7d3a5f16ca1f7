-- PostgreSQL keeps each queue's waiting count in parts, one per connection (its 0023). SQLite
-- has one writer at a time and keeps one row per queue since its 0019. This migration keeps the
-- two sets numbered in step.
SELECT 1;
