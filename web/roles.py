"""Who a token says its bearer is allowed to be (kept free of aiohttp: the CLI issues tokens)."""

ADMIN, AUDITOR = "admin", "auditor"
ROLES = (ADMIN, AUDITOR)
AUDITORS = (AUDITOR, ADMIN)  # the roles that may read the log
