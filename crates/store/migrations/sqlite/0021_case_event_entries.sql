-- A case's event goes to its stream (`case_events`) and to the shared log (`events`) in one
-- statement: an insert into this view, whose trigger writes both rows (issue 9: a command
-- wrote each log in a statement of its own). The view itself never holds a row.
CREATE VIEW case_event_entries AS
SELECT e.case_id, e.seq, e.at, e.actor, e.department, e.kind, e.body, l.subject_id, l.payload
FROM case_events e CROSS JOIN events l WHERE 0;

CREATE TRIGGER case_event_entries_insert INSTEAD OF INSERT ON case_event_entries
BEGIN
    INSERT INTO case_events (case_id, seq, at, actor, department, kind, body)
    VALUES (NEW.case_id, NEW.seq, NEW.at, NEW.actor, NEW.department, NEW.kind, NEW.body);
    INSERT INTO events (at, actor, kind, subject_type, subject_id, payload)
    VALUES (NEW.at, NEW.actor, NEW.kind, 'case', NEW.subject_id, NEW.payload);
END;
