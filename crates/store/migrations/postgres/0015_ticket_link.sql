-- Issue 10 item 8: a ticket's phone page and slip QR code use a random, unguessable link
-- (ticket ids are consecutive: /t/1, /t/2 … let anyone walk through others' tickets). Older
-- tickets get one here.
ALTER TABLE tickets ADD COLUMN link TEXT;
UPDATE tickets SET link = md5(random()::text || clock_timestamp()::text || id::text) WHERE link IS NULL;
CREATE UNIQUE INDEX tickets_link ON tickets (link);
