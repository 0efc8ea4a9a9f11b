-- A name search is a substring match (name_key LIKE '%…%'), which no B-tree serves: a trigram
-- index does, for any substring of three characters or more. pg_trgm is in PostgreSQL's
-- contrib (a trusted extension: the database's owner may create it); where it is missing (the
-- embedded pgserver ships without contrib) or may not be created, searches scan as before.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX catalog_funkos_name_trigrams ON catalog_funkos
            USING gin (name_key gin_trgm_ops);
    ELSE
        RAISE NOTICE 'pg_trgm is not available: name searches scan the catalog';
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'pg_trgm could not be created: name searches scan the catalog';
END;
$$;
