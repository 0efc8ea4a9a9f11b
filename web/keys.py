"""Typed keys for what the app holds; one module so every handler finds them."""

import asyncpg
from aiohttp import web

from domain.services import FunkoService
from infrastructure.event_store import EventStore
from infrastructure.log_reader import LogReader
from infrastructure.settings import Settings
from web.auth import TokenVerifier
from web.metrics import Metrics
from web.subscribers import Subscribers

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
STORE = web.AppKey("store", EventStore)
SERVICE = web.AppKey("service", FunkoService)
TOKENS = web.AppKey("tokens", TokenVerifier)
READER = web.AppKey("reader", LogReader)
SUBSCRIBERS = web.AppKey("subscribers", Subscribers)
METRICS = web.AppKey("metrics", Metrics)
OPENAPI = web.AppKey("openapi", bytes)  # the document, encoded once per app
