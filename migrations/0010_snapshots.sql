-- Snapshots of Funkos: a cache of the fold of a Funko's events, never the truth. A row is the
-- aggregate as eventsourcing's Snapshot.take makes it (topic and state as the Mapper stores
-- them) after the event at (funko_id, version), so a load reads the newest snapshot at or below
-- the version it wants and only the events after it (infrastructure/snapshots.py).
--
-- One row per snapshot, keyed (funko_id, version), rather than one row per Funko updated in
-- place: a point-in-time read of an old version starts from the newest snapshot at or below
-- it, rows are never updated (a hot Funko's snapshots leave no dead tuples behind and writers
-- of the same snapshot need no lock: ON CONFLICT DO NOTHING), and at one row per interval of
-- events they add about 1% to the log's row count.
--
-- Snapshots are written after the events they cover are committed, outside any append: they
-- are taken only from Funkos folded from events read back from the log. No foreign key to
-- events: it would make TRUNCATE events fail on the key before the append-only trigger
-- refuses it. Not append-only either: emptying this table (TRUNCATE snapshots) loses nothing
-- but speed, and a restored log, which starts without snapshots, gets them as Funkos load.
-- state is json, not jsonb: it is only ever read back whole, as the text written.
CREATE TABLE snapshots (
    funko_id  uuid    NOT NULL,
    version   integer NOT NULL CHECK (version >= 1),
    topic     text    NOT NULL,  -- eventsourcing's Snapshot class
    state     json    NOT NULL,  -- the Snapshot as eventsourcing's Mapper stores it
    PRIMARY KEY (funko_id, version)
);
