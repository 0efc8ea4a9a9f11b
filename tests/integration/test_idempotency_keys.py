"""Recorded Idempotency-Keys: kept at least 24 hours, then forgotten a batch at a time, by one
process at a time."""

from datetime import timedelta
from uuid import uuid4

import asyncpg

from domain.ports import IdempotencyKey
from domain.services import FunkoService
from infrastructure.idempotency_keys import FORGETTING, IdempotencyKeys
from tests.integration.funko_events import new_fields


async def keyed_create(service: FunkoService, owner: str) -> IdempotencyKey:
    key = IdempotencyKey(owner, uuid4().hex, b"fingerprint")
    await service.create(new_fields(), owner, key)
    return key


async def test_keys_younger_than_a_day_stay_and_older_ones_go(
    service: FunkoService, pool: asyncpg.Pool
) -> None:
    owner = uuid4().hex
    old = [await keyed_create(service, owner) for _ in range(3)]
    young = [await keyed_create(service, owner) for _ in range(2)]
    await pool.execute(
        "UPDATE idempotency_keys SET created_at = now() - interval '25 hours'"
        " WHERE owner = $1 AND key = ANY($2::text[])",
        owner,
        [k.key for k in old],
    )
    keys = IdempotencyKeys(pool)

    assert await keys.forget_old() >= 3
    for key in old:
        assert await keys.find(owner, key.key) is None
    for key in young:
        kept = await keys.find(owner, key.key)
        assert kept is not None and kept.fingerprint == b"fingerprint"


async def test_one_process_at_a_time_forgets(service: FunkoService, pool: asyncpg.Pool) -> None:
    key = await keyed_create(service, uuid4().hex)
    async with pool.acquire() as other:
        await other.execute("SELECT pg_advisory_lock($1)", FORGETTING)
        try:
            assert await IdempotencyKeys(pool).forget_old(timedelta(0)) == 0
        finally:
            await other.execute("SELECT pg_advisory_unlock($1)", FORGETTING)
    assert await IdempotencyKeys(pool).find(key.owner, key.key) is not None
