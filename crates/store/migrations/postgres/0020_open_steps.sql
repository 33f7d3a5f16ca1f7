-- The open steps of a case as last written to `case_steps`, so that a change writes only the
-- steps that closed, opened or changed, rather than deleting and inserting every open step
-- (issue 9). NULL for rows from before: their next change writes the steps afresh.
ALTER TABLE cases ADD COLUMN open_steps TEXT;
