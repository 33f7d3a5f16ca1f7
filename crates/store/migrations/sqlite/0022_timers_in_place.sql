-- A case's deadline and warning timers are rewritten in place when they move (issue 9):
-- `timers::replace` upserts the one pending row of each kind, found by this index, instead of
-- cancelling the old rows and inserting new ones. The index predicate is repeated word for word
-- in the upsert's conflict target (`timers::replace`), which both databases match.
--
-- Every earlier move cancelled the pending rows before inserting, so at most one of each kind
-- is pending per case; should any more be, the older are cancelled, keeping the newest.
UPDATE timers SET cancelled_at = created_at
 WHERE kind IN ('case_deadline', 'case_warning') AND fired_at IS NULL AND cancelled_at IS NULL
   AND id < (SELECT MAX(t.id) FROM timers t
              WHERE t.subject = timers.subject AND t.kind = timers.kind
                AND t.fired_at IS NULL AND t.cancelled_at IS NULL);
CREATE UNIQUE INDEX timers_in_place ON timers (subject, kind)
 WHERE kind IN ('case_deadline', 'case_warning') AND fired_at IS NULL AND cancelled_at IS NULL;
