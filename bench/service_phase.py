"""Service layer: concurrent FunkoService.create calls over the group-committing store,
wired as the app wires it (same pool settings, projection, repository, read model)."""

import asyncio
import time

from bench.funkos import random_fields
from bench.stats import PhaseResult, Window
from domain.services import FunkoService
from infrastructure.catalog import CatalogReadModel
from infrastructure.database import create_pool
from infrastructure.event_store import EventStore
from infrastructure.funko_repository import EventSourcedFunkos
from infrastructure.projection import CatalogProjection

TASKS = 64


async def _worker(service: FunkoService, window: Window) -> None:
    while window.open():
        fields = random_fields()
        started = time.perf_counter()
        try:
            await service.create(fields, "bench")
        except Exception as error:  # counted and shown, never hidden
            window.failed(repr(error))
            continue
        window.record(started)


async def run(url: str, warmup: float, seconds: float) -> PhaseResult:
    pool = await create_pool(url)
    try:
        async with EventStore(pool, CatalogProjection()) as store:
            service = FunkoService(EventSourcedFunkos(store), CatalogReadModel(pool))
            window = Window(warmup, seconds)
            await asyncio.gather(*(_worker(service, window) for _ in range(TASKS)))
    finally:
        await pool.close()
    result = PhaseResult.of("service layer", window.summary())
    result.extra["tasks"] = TASKS
    return result
