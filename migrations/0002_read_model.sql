-- The catalog read model, kept from the log by the projection (infrastructure/projection.py).
CREATE TABLE catalog_funkos (
    id          uuid          PRIMARY KEY,
    name        text          NOT NULL,
    price       numeric(9, 2) NOT NULL,
    stock       integer       NOT NULL,
    image       text,
    category    text          NOT NULL,
    version     integer       NOT NULL,
    created_at  timestamptz   NOT NULL,
    updated_at  timestamptz   NOT NULL,
    doc         json          NOT NULL          -- served verbatim (json keeps the key order)
);
CREATE INDEX catalog_funkos_name ON catalog_funkos (lower(name), id);
CREATE INDEX catalog_funkos_category ON catalog_funkos (category, id);
CREATE INDEX catalog_funkos_price ON catalog_funkos (price, id);
CREATE INDEX catalog_funkos_created ON catalog_funkos (created_at, id);

CREATE TABLE catalog_categories (
    name  text    PRIMARY KEY,
    count integer NOT NULL          -- rows reaching 0 are deleted in the same transaction
);

-- Each projection's position in the log; moves in the same transaction as its rows.
CREATE TABLE projection_positions (
    name     text   PRIMARY KEY,
    position bigint NOT NULL DEFAULT 0
);
INSERT INTO projection_positions (name) VALUES ('catalog');
