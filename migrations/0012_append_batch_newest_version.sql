-- A Funko's current version, for the group commit's check, is read from its newest event alone
-- (ORDER BY version DESC LIMIT 1 on the (funko_id, version) index), not by walking every event
-- of its history as 0007's DISTINCT ON did: a change of a Funko with 10,000 events cost 3.5
-- times a fresh one's. append_batch is otherwise 0007's, line for line.
CREATE OR REPLACE FUNCTION append_batch(
    funko_ids uuid[], versions int[], types text[], topics text[], states text[],
    datas text[], changes text[], actors text[], created_ats timestamptz[], afters int[],
    key_owners text[], key_names text[], key_prints bytea[], name_keys text[],
    commit_bys float8[]
) RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE
    n int := coalesce(array_length(funko_ids, 1), 0);
    outcome bigint[] := array_fill(0::bigint, ARRAY[n]);
    head bigint;
    head_before bigint;
    tip bytea;
    current jsonb;
    taken text[];
    owned text;
    accepted int[] := '{}';
    hashes bytea[] := '{}';
BEGIN
    -- Positions in commit order: the head's row lock is held until commit (event_store.py).
    SELECT position, hash INTO head, tip FROM log_head FOR UPDATE;
    head_before := head;
    IF (SELECT position FROM projection_positions WHERE name = 'catalog') <> head THEN
        RETURN NULL;
    END IF;
    -- The versions the changed Funkos are at; creates name fresh uuid4s and need no lookup
    -- (UNIQUE (funko_id, version) stands behind that).
    SELECT coalesce(jsonb_object_agg(changed.id, newest.version), '{}') INTO current
    FROM (SELECT DISTINCT funko_ids[i] AS id FROM generate_subscripts(funko_ids, 1) i
          WHERE versions[i] > 1) changed,
         LATERAL (SELECT version FROM events WHERE funko_id = changed.id
                  ORDER BY version DESC LIMIT 1) newest;
    -- Keys recorded by an earlier transaction: it has committed, since it held the head lock.
    SELECT coalesce(array_agg(k.owner || E'\x1f' || k.key), '{}') INTO taken
    FROM idempotency_keys k
    WHERE (k.owner, k.key) IN (SELECT * FROM unnest(key_owners, key_names) AS q(o, k));

    FOR i IN 1..n LOOP
        IF commit_bys[i] < extract(epoch FROM clock_timestamp()) THEN
            outcome[i] := -2;
            CONTINUE;
        END IF;
        CONTINUE WHEN afters[i] > 0 AND outcome[afters[i]] <= 0;
        CONTINUE WHEN coalesce((current ->> funko_ids[i]::text)::int, 0) <> versions[i] - 1;
        IF key_owners[i] IS NOT NULL THEN
            owned := key_owners[i] || E'\x1f' || key_names[i];
            IF owned = ANY(taken) THEN
                outcome[i] := -1;
                CONTINUE;
            END IF;
            taken := taken || owned;
        END IF;
        head := head + 1;
        outcome[i] := head;
        current := current || jsonb_build_object(funko_ids[i]::text, versions[i]);
        tip := event_link(tip, ROW(
            head, funko_ids[i], versions[i], types[i], topics[i], states[i]::json,
            datas[i]::json, changes[i]::json, actors[i], created_ats[i], NULL)::events);
        accepted := accepted || i;
        hashes := hashes || tip;
    END LOOP;
    IF head = head_before THEN
        RETURN outcome;
    END IF;

    INSERT INTO events
        (position, funko_id, version, type, topic, state, data, changes, actor, created_at, hash)
    SELECT outcome[i], funko_ids[i], versions[i], types[i], topics[i], states[i]::json,
           datas[i]::json, changes[i]::json, actors[i], created_ats[i], hashes[k]
    FROM unnest(accepted) WITH ORDINALITY AS a(i, k);
    INSERT INTO idempotency_keys (owner, key, fingerprint, position)
    SELECT key_owners[i], key_names[i], key_prints[i], outcome[i]
    FROM unnest(accepted) AS a(i) WHERE key_owners[i] IS NOT NULL;
    PERFORM catalog_apply(
        ARRAY(SELECT outcome[i] FROM unnest(accepted) AS a(i)),
        ARRAY(SELECT funko_ids[i] FROM unnest(accepted) AS a(i)),
        ARRAY(SELECT types[i] FROM unnest(accepted) AS a(i)),
        ARRAY(SELECT datas[i]::json FROM unnest(accepted) AS a(i)),
        ARRAY(SELECT name_keys[i] FROM unnest(accepted) AS a(i)));
    UPDATE projection_positions SET position = head WHERE name = 'catalog';
    UPDATE log_head SET position = head, hash = tip;
    PERFORM pg_notify('funko_events', head::text);  -- delivered at commit: a wake-up only
    RETURN outcome;
END;
$$;
