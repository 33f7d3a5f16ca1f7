-- Setting a subject's pending timer of a kind, in one statement: an insert into this view, whose
-- trigger cancels the pending timer of that subject and kind and adds the new one when the row
-- has a due time (none: only the cancel). A case's change wrote the cancel and the insert as two
-- statements (issue 9). The view itself never holds a row.
CREATE VIEW timer_plans AS
SELECT kind, subject, due_at, payload, created_at FROM timers WHERE FALSE;

CREATE FUNCTION timer_plans_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE timers SET cancelled_at = NEW.created_at
    WHERE subject = NEW.subject AND kind = NEW.kind AND fired_at IS NULL AND cancelled_at IS NULL;
    IF NEW.due_at IS NOT NULL THEN
        INSERT INTO timers (kind, subject, due_at, payload, created_at)
        VALUES (NEW.kind, NEW.subject, NEW.due_at, NEW.payload, NEW.created_at);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER timer_plans_insert INSTEAD OF INSERT ON timer_plans
FOR EACH ROW EXECUTE FUNCTION timer_plans_insert();
