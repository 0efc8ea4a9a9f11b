-- The event log: the single source of truth. One row per domain event.
CREATE TABLE events (
    position    bigint      PRIMARY KEY,           -- global, assigned under log_head's row lock
    funko_id    uuid        NOT NULL,
    version     integer     NOT NULL CHECK (version >= 1),
    type        text        NOT NULL CHECK (type IN ('CREATE', 'UPDATE', 'DELETE')),
    topic       text        NOT NULL,              -- eventsourcing topic of the domain event class
    state       jsonb       NOT NULL,              -- the domain event as eventsourcing's Mapper stores it
    data        json        NOT NULL,              -- the Funko after the event, as served (json keeps the text)
    changes     json        NOT NULL,              -- the fields the event set (cast to jsonb to index)
    actor       text        NOT NULL,              -- the bearer token's sub
    created_at  timestamptz NOT NULL,
    UNIQUE (funko_id, version)                     -- optimistic concurrency's last line of defence
);

-- One row holding the newest position. Appenders lock it FOR UPDATE first thing in
-- their transaction, so appends are serialised and positions grow in commit order.
-- (A later migration can add the hash chain's tip here.)
CREATE TABLE log_head (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    position bigint  NOT NULL DEFAULT 0
);
INSERT INTO log_head DEFAULT VALUES;
