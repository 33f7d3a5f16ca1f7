-- Issue 15: the printed receipt's query code, random and unguessable (case numbers are
-- sequential), so a case can be followed with the code alone; older cases have none and are
-- followed with their number and the last four of an ID or phone as before.
ALTER TABLE cases ADD COLUMN query_code TEXT;
CREATE UNIQUE INDEX cases_query_code ON cases (query_code);
