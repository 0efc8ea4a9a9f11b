-- Every sort order of the catalog is served by an index, and names are matched case-folded.
--
-- Names are searched and sorted by name_key: the name case-folded in NFC (domain/rules.py
-- search_key), which the projection computes; PostgreSQL's lower() disagrees with Python's
-- and with itself across collations ("İ", final sigma). The projection's catch-up fills
-- the keys of rows written before this migration. Keys and categories sort in byte order
-- ("C"), whatever the database's collation, so their indexes serve ORDER BY as written.
ALTER TABLE catalog_funkos ADD COLUMN name_key text COLLATE "C";
ALTER TABLE catalog_funkos ALTER COLUMN category TYPE text COLLATE "C";

DROP INDEX catalog_funkos_name;
CREATE INDEX catalog_funkos_name ON catalog_funkos (name_key, id);
CREATE INDEX catalog_funkos_stock ON catalog_funkos (stock, id);
CREATE INDEX catalog_funkos_updated ON catalog_funkos (updated_at, id);
