-- How many tickets wait in each queue, kept by triggers as tickets join and leave a line (issue 9),
-- as SQLite keeps it since its 0019. Counting the line in the call's and the take's statements
-- walked every waiting ticket: 10 ms at 8,000, with the take's number locked all the while.
--
-- A single row per queue would make windows calling at once wait for each other's commit, so
-- each server connection keeps its own part of the figure, keyed by its backend's process id:
-- no two live connections ever write the same row, and a queue's figure is the sum of its
-- parts. A part may go below zero (a ticket taken on one connection and called on another).
-- The day end folds the parts of connections that have gone into part 0 (`hall::fold_waiting`).
-- Derived from `tickets` alone: a backup does not copy it, and a restore rebuilds it as the
-- tickets go in.
CREATE TABLE queue_waiting (
    queue_id BIGINT NOT NULL,
    part INTEGER NOT NULL,
    waiting BIGINT NOT NULL,
    PRIMARY KEY (queue_id, part)
);

INSERT INTO queue_waiting (queue_id, part, waiting)
SELECT queue_id, 0, COUNT(*) FROM tickets WHERE status = 'waiting' GROUP BY queue_id;

CREATE FUNCTION queue_waiting_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.status = 'waiting' THEN
        INSERT INTO queue_waiting (queue_id, part, waiting) VALUES (OLD.queue_id, pg_backend_pid(), -1)
        ON CONFLICT (queue_id, part) DO UPDATE SET waiting = queue_waiting.waiting - 1;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status = 'waiting' THEN
        INSERT INTO queue_waiting (queue_id, part, waiting) VALUES (NEW.queue_id, pg_backend_pid(), 1)
        ON CONFLICT (queue_id, part) DO UPDATE SET waiting = queue_waiting.waiting + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tickets_join_line AFTER INSERT ON tickets
FOR EACH ROW WHEN (NEW.status = 'waiting') EXECUTE FUNCTION queue_waiting_moved();

CREATE TRIGGER tickets_move_line AFTER UPDATE OF status, queue_id ON tickets
FOR EACH ROW WHEN ((OLD.status = 'waiting') <> (NEW.status = 'waiting')
                   OR (NEW.status = 'waiting' AND OLD.queue_id <> NEW.queue_id))
EXECUTE FUNCTION queue_waiting_moved();

CREATE TRIGGER tickets_leave_line AFTER DELETE ON tickets
FOR EACH ROW WHEN (OLD.status = 'waiting') EXECUTE FUNCTION queue_waiting_moved();
