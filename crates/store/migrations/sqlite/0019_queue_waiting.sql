-- How many tickets wait in each queue, kept by triggers as tickets join and leave a line, so
-- a take or a call reads the board's figure from one row instead of counting the line in the
-- writer's turn (issue 9: the count walked every waiting ticket, 0.1 ms at 4,000). Derived from
-- `tickets` alone: a backup does not copy it, and a restore rebuilds it as the tickets go in.
-- PostgreSQL counts in the statement instead (see 0019 there).
CREATE TABLE queue_waiting (
    queue_id INTEGER PRIMARY KEY,
    waiting INTEGER NOT NULL
);

INSERT INTO queue_waiting (queue_id, waiting)
SELECT queue_id, COUNT(*) FROM tickets WHERE status = 'waiting' GROUP BY queue_id;

CREATE TRIGGER tickets_join_line AFTER INSERT ON tickets WHEN NEW.status = 'waiting'
BEGIN
    INSERT INTO queue_waiting (queue_id, waiting) VALUES (NEW.queue_id, 1)
    ON CONFLICT (queue_id) DO UPDATE SET waiting = waiting + 1;
END;

CREATE TRIGGER tickets_move_line AFTER UPDATE OF status, queue_id ON tickets
WHEN (OLD.status = 'waiting') <> (NEW.status = 'waiting')
  OR (NEW.status = 'waiting' AND OLD.queue_id <> NEW.queue_id)
BEGIN
    UPDATE queue_waiting SET waiting = waiting - 1
    WHERE queue_id = OLD.queue_id AND OLD.status = 'waiting';
    INSERT INTO queue_waiting (queue_id, waiting)
    SELECT NEW.queue_id, 1 WHERE NEW.status = 'waiting'
    ON CONFLICT (queue_id) DO UPDATE SET waiting = waiting + 1;
END;

CREATE TRIGGER tickets_leave_line AFTER DELETE ON tickets WHEN OLD.status = 'waiting'
BEGIN
    UPDATE queue_waiting SET waiting = waiting - 1 WHERE queue_id = OLD.queue_id;
END;
