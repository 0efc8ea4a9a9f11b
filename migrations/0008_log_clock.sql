-- since=<time> (the WebSocket, server-sent events, GET /events) starts at the first event, in
-- position order, whose createdAt is at or after that time. createdAt is stamped before the
-- commit, so it does not quite grow with the position (two processes, a slow batch): an index
-- on it would find an early event, not the first one. The latest createdAt up to each position
-- does only grow with it, and first reaches a time exactly at the first event created at or
-- after that time: so log_clock keeps it, and one probe of its index finds where to start.
CREATE TABLE log_clock (
    position   bigint      NOT NULL,
    reached_at timestamptz NOT NULL  -- max(created_at) of the events up to this position
);

INSERT INTO log_clock (position, reached_at)
SELECT position, max(created_at) OVER (ORDER BY position) FROM events;

CREATE INDEX log_clock_reached ON log_clock (reached_at, position);

-- Kept by the insert itself, once per statement (a group commit is one), so every writer of
-- the log (append_batch, a restore, a test's own INSERT) keeps it alike. Writers of the log
-- are serialised (log_head's row lock), so the clock's latest row is the one to go on from.
CREATE FUNCTION log_clock_advance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO log_clock (position, reached_at)
    SELECT a.position, greatest(
        max(a.created_at) OVER (ORDER BY a.position),
        (SELECT reached_at FROM log_clock ORDER BY reached_at DESC, position DESC LIMIT 1))
    FROM added a;
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_advance_clock
    AFTER INSERT ON events REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION log_clock_advance();
