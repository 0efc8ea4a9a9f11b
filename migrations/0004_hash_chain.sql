-- Tamper evidence: every event carries a hash over its content and the previous event's hash
-- (infrastructure/hash_chain.py). The appender computes it under log_head's lock, where the
-- chain's tip is kept beside the head position.

-- The chain covers the stored text, so the domain event is kept as json (text, as given)
-- rather than jsonb (re-encoded), like data and changes.
ALTER TABLE events ALTER COLUMN state TYPE json USING state::json;

ALTER TABLE events ADD COLUMN hash bytea;
ALTER TABLE log_head ADD COLUMN hash bytea NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000';

-- hash_chain.link in SQL: `<length>:<text>,` for each column, hashed after the previous hash.
CREATE FUNCTION event_link(previous bytea, e events) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT sha256(previous || convert_to(string_agg(length(f) || ':' || f || ',', '' ORDER BY n), 'UTF8'))
    FROM unnest(ARRAY[
        e.position::text, e.funko_id::text, e.version::text, e.type, e.topic, e.state::text,
        e.data::text, e.changes::text, e.actor,
        (extract(epoch FROM e.created_at) * 1000000)::bigint::text
    ]) WITH ORDINALITY AS c(f, n)
$$;

-- Events logged before the chain existed are hashed once, here, with the guard lifted for it.
ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete;
DO $$
DECLARE
    tip bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
    e events;
BEGIN
    FOR e IN SELECT * FROM events ORDER BY position LOOP
        tip := event_link(tip, e);
        UPDATE events SET hash = tip WHERE position = e.position;
    END LOOP;
    UPDATE log_head SET hash = tip;
END;
$$;
ALTER TABLE events ENABLE TRIGGER events_no_update_or_delete;

ALTER TABLE events ALTER COLUMN hash SET NOT NULL;
