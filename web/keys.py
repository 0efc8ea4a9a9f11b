"""Typed keys for what the app holds; one module so every handler finds them."""

from aiohttp import web

from domain.services import FunkoService
from infrastructure.audit_log import AuditLog
from infrastructure.event_store import EventStore
from infrastructure.group_members import GroupMembers
from infrastructure.groups import Groups
from infrastructure.log_reader import LogReader
from infrastructure.log_status import LogStatus
from infrastructure.replica_reads import ReplicaReads
from infrastructure.settings import Settings
from web.auth import TokenVerifier
from web.idempotency import Retries
from web.metrics import Metrics
from web.subscribers import Outlet, Subscribers

SETTINGS = web.AppKey("settings", Settings)
TOKENS = web.AppKey("tokens", TokenVerifier)
METRICS = web.AppKey("metrics", Metrics)
SERVICE = web.AppKey("service", FunkoService)
STORE = web.AppKey("store", EventStore)  # for its counts
AUDIT_LOG = web.AppKey("audit_log", AuditLog)
STATUS = web.AppKey("status", LogStatus)
READER = web.AppKey("reader", LogReader)
READS = web.AppKey("reads", ReplicaReads)  # the replica's standing and counts, for /metrics
SUBSCRIBERS = web.AppKey("subscribers", Subscribers)
RETRIES = web.AppKey("retries", Retries)
GROUPS = web.AppKey("groups", Groups)  # consumer groups
MEMBERS = web.AppKey("members", GroupMembers)  # this process's members of consumer groups
# Their open connections, each with its outlet (to close them at shutdown)
MEMBER_SOCKETS = web.AppKey("member_sockets", dict[web.WebSocketResponse, Outlet])
OPENAPI = web.AppKey("openapi", bytes)  # the document, encoded once per app
