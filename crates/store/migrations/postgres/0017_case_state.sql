-- The folded state of each case (JSON, the applicant's numbers masked), kept with its row so
-- a command starts from it instead of replaying the history (issue 9). NULL for rows written
-- before: folded from the events once, kept on their next change.
ALTER TABLE cases ADD COLUMN state TEXT;
