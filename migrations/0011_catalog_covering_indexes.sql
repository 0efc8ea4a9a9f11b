-- A page of the catalog in name order (its default order) is found by walking one index and
-- reading no row until the page's own (infrastructure/catalog.py), with or without filters:
-- - within a category, (category, name_key, id) holds the category's names in order, so its
--   pages cost the same at any depth and whatever the category's size (before, its rows were
--   found by walking every category's names, or gathered and sorted);
-- - the price and stock bounds are checked on the entries themselves (INCLUDE), where before
--   each name walked past was a read of its row.
-- Other orders under a filter still read the rows they walk past. Built without CONCURRENTLY
-- (a migration is one transaction): writes to the catalog wait while these are built.
DROP INDEX catalog_funkos_name;
CREATE INDEX catalog_funkos_name ON catalog_funkos (name_key, id) INCLUDE (price, stock);
CREATE INDEX catalog_funkos_category_name ON catalog_funkos (category, name_key, id)
    INCLUDE (price, stock);
