-- Consumer groups (issue 17): durable subscriptions whose members share the work. The log is
-- the only queue: a group stores where it stands in it, never copies of its events.
--
-- consumer_groups: a group's settings, and its checkpoint: every matching event up to it is
-- acknowledged or parked. Its members' processes move it (infrastructure/groups.py).
-- group_leases: the one event of a Funko in flight for a group, with the process holding it and
-- until when. The key (group_name, funko_id) is what keeps one Funko's events to one member at a
-- time across every server process: a second claim of a Funko in flight finds the row and fails.
-- A lease past lease_until belongs to a process that stopped renewing it (killed, cut off): any
-- process may take it over, counting another attempt.
-- group_done: positions after the checkpoint that are acknowledged or parked (a parked one keeps
-- its attempts and reason), until the checkpoint passes them.
CREATE TABLE consumer_groups (
    name         text        PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    start_after  bigint      NOT NULL CHECK (start_after >= 0),
    types        text[]      NOT NULL,
    max_attempts integer     NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),
    checkpoint   bigint      NOT NULL CHECK (checkpoint >= start_after),
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE group_leases (
    group_name  text        NOT NULL REFERENCES consumer_groups ON DELETE CASCADE,
    funko_id    uuid        NOT NULL,
    position    bigint      NOT NULL,
    attempts    integer     NOT NULL CHECK (attempts >= 1),
    holder      text        NOT NULL,  -- the process (and member) delivering it
    lease_until timestamptz NOT NULL,
    PRIMARY KEY (group_name, funko_id)
);

CREATE TABLE group_done (
    group_name text    NOT NULL REFERENCES consumer_groups ON DELETE CASCADE,
    position   bigint  NOT NULL,
    parked     boolean NOT NULL DEFAULT false,
    attempts   integer NOT NULL DEFAULT 0,
    reason     text,
    PRIMARY KEY (group_name, position)
);
CREATE INDEX group_done_parked ON group_done (group_name, position) WHERE parked;
