-- A group commit in one round trip (infrastructure/event_store.py calls append_batch as one
-- statement, so one transaction): the rules stay those event_store.py states, but they run
-- beside the data instead of across half a dozen round trips, each of which waited behind the
-- requests queued on the server's event loop.

-- The catalog projection's fold of a batch of logged events (the latest event of each Funko
-- decides its row; category counts move by their deltas), for appends and for catch-ups and
-- rebuilds alike. name_keys are the Funkos' search keys, which Python computes (case folding).
CREATE FUNCTION catalog_apply(
    positions bigint[], funko_ids uuid[], types text[], datas json[], name_keys text[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    shrunk text[];
BEGIN
    WITH latest AS (
        SELECT DISTINCT ON (funko_id) funko_id, type, data, name_key
        FROM unnest(positions, funko_ids, types, datas, name_keys)
            AS b(position, funko_id, type, data, name_key)
        ORDER BY funko_id, position DESC
    ), before AS (
        SELECT c.id, c.category FROM catalog_funkos c JOIN latest l ON c.id = l.funko_id
    ), deltas AS (
        SELECT category, sum(d)::int AS d FROM (
            SELECT data->>'category' AS category, 1 AS d FROM latest WHERE type <> 'DELETE'
            UNION ALL
            SELECT category, -1 FROM before
        ) moved GROUP BY category HAVING sum(d) <> 0
    ), upserted AS (
        INSERT INTO catalog_funkos
            (id, name, price, stock, image, category, version, created_at, updated_at, doc,
             name_key)
        SELECT f.id, f.name, f.price, f.stock, f.image, f.category, f.version, f."createdAt",
               f."updatedAt", l.data, l.name_key
        FROM latest l,
             json_to_record(l.data) AS f(id uuid, name text, price numeric, stock int,
                                         image text, category text, version int,
                                         "createdAt" timestamptz, "updatedAt" timestamptz)
        WHERE l.type <> 'DELETE'
        ON CONFLICT (id) DO UPDATE SET
            name = excluded.name, price = excluded.price, stock = excluded.stock,
            image = excluded.image, category = excluded.category, version = excluded.version,
            created_at = excluded.created_at, updated_at = excluded.updated_at,
            doc = excluded.doc, name_key = excluded.name_key
    ), removed AS (
        DELETE FROM catalog_funkos WHERE id IN (SELECT funko_id FROM latest WHERE type = 'DELETE')
    ), counted AS (
        INSERT INTO catalog_categories (name, count) SELECT category, d FROM deltas
        ON CONFLICT (name) DO UPDATE SET count = catalog_categories.count + excluded.count
        RETURNING name, count
    )
    SELECT array_agg(name) INTO shrunk FROM counted WHERE count <= 0;
    -- A statement of its own: the one above cannot see the counts it has just moved.
    IF shrunk IS NOT NULL THEN
        DELETE FROM catalog_categories WHERE name = ANY(shrunk) AND count <= 0;
    END IF;
END;
$$;

-- One group commit: takes the candidate commands (one event each, in queue order) and returns
-- each one's outcome: its position, 0 (its Funko is not at the version it expects, or the
-- command it follows was not accepted), -1 (its Idempotency-Key made an event already) or -2
-- (it is taken up after its commit-by time, epoch seconds: its request is being given up).
-- NULL, with nothing done, if the catalog is behind the log (a fresh projection): the caller
-- catches it up, then tries again.
--   afters: the index (from 1) of the command in this batch each one follows, 0 for none;
--   key_owners NULL where a command has no Idempotency-Key.
CREATE FUNCTION append_batch(
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
    SELECT coalesce(jsonb_object_agg(funko_id, version), '{}') INTO current FROM (
        SELECT DISTINCT ON (funko_id) funko_id, version FROM events
        WHERE funko_id = ANY(ARRAY(
            SELECT funko_ids[i] FROM generate_subscripts(funko_ids, 1) i WHERE versions[i] > 1))
        ORDER BY funko_id, version DESC
    ) v;
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
