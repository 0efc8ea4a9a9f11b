-- Idempotency-Key: each key a caller sent with a write that appended an event, recorded in the
-- same transaction as that event (infrastructure/event_store.py), so no key makes two events.
-- The answer a retry gets again is rebuilt from the event at `position`. Kept at least 24 hours,
-- then deleted a few at a time (infrastructure/idempotency_keys.py).
CREATE TABLE idempotency_keys (
    owner       text        NOT NULL,                 -- the token's sub: keys are each caller's own
    key         text        NOT NULL,
    fingerprint bytea       NOT NULL,                 -- of the method, path, JSON body and If-Match
    position    bigint      NOT NULL,                 -- the event the request appended
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
