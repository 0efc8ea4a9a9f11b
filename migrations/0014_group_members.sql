-- Consumer groups (issue 17), second part: who is connected, and parked events sent back.
--
-- group_members: each member connected to a group, on whichever server process, until when its
-- process vouches for it (renewed with the process's leases). A row past member_until belongs to
-- a process that stopped (killed, cut off): it no longer counts as a member.
-- group_retries: parked events an admin asked to deliver again. They may lie at or before the
-- checkpoint, which never moves back for them: a claim takes them beside the events after it,
-- and the row goes when the retried event is acknowledged or parked again.
CREATE TABLE group_members (
    group_name   text        NOT NULL REFERENCES consumer_groups ON DELETE CASCADE,
    holder       text        NOT NULL,  -- "<process>/<member>", as in group_leases
    member_until timestamptz NOT NULL,
    PRIMARY KEY (group_name, holder)
);

CREATE TABLE group_retries (
    group_name text   NOT NULL REFERENCES consumer_groups ON DELETE CASCADE,
    position   bigint NOT NULL,
    PRIMARY KEY (group_name, position)
);
