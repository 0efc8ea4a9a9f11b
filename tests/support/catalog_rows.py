"""Catalog rows in bulk, written by SQL alone: shaped as the projection writes them (migrations
0002, 0005, 0009; projection.py), for tests and measurements that need thousands of Funkos fast.

The categories' counts are recounted from ``catalog_funkos`` afterwards, so they stay what the
projection would keep. The rows have no events behind them: a database holding them is not one
``run.py verify`` passes.
"""

from infrastructure.database import Connection

CATEGORIES = 20
FILL = """
INSERT INTO catalog_funkos
    (id, name, price, stock, image, category, version, created_at, updated_at, doc, name_key)
SELECT id, name, price, stock, image, category, version, created_at, updated_at,
       json_build_object(
           'id', id, 'name', name, 'price', price, 'stock', stock, 'image', image,
           'category', category, 'version', version,
           'createdAt', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'updatedAt', to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')),
       lower(name)
FROM (
    SELECT gen_random_uuid() AS id,
           initcap(w[1 + i % 13]) || ' ' || w[1 + i / 13 % 11] || ' ' || (i * 7) AS name,
           (i * 7919 % 100000 / 100.0)::numeric(9, 2) AS price,
           i * 31 % 1000 AS stock,
           CASE WHEN i % 3 > 0 THEN 'https://img.example/' || i || '.png' END AS image,
           $3 || ' ' || lpad((i % $4)::text, 2, '0') AS category,
           1 + i % 5 AS version,
           t + i * interval '1 second' AS created_at,
           t + (i + i * 7919 % 100000) * interval '1 second' AS updated_at
    FROM generate_series($1::bigint, $1::bigint + $2::bigint - 1) AS i,
         (SELECT ARRAY['baby', 'iron', 'spider', 'captain', 'dark', 'wonder', 'green',
                       'mega', 'tiny', 'royal', 'silver', 'ghost', 'golden'] AS w,
                 timestamptz '2025-01-01T00:00:00Z' AS t) AS words
) AS generated
"""
RECOUNT = """
INSERT INTO catalog_categories (name, count)
SELECT category, count(*) FROM catalog_funkos GROUP BY category
ON CONFLICT (name) DO UPDATE SET count = excluded.count
"""


async def fill_catalog(
    conn: Connection, count: int, *, first: int = 1, category: str = "SHELF"
) -> None:
    """Add ``count`` Funkos numbered from ``first``, in ``CATEGORIES`` categories named after
    ``category``, and recount the categories."""
    await conn.execute(FILL, first, count, category, CATEGORIES)
    await conn.execute(RECOUNT)
