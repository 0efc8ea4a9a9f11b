"""Who a token says its bearer is allowed to be (kept free of aiohttp: the CLI issues tokens)."""

ADMIN, AUDITOR, CONSUMER = "admin", "auditor", "consumer"
ROLES = (ADMIN, AUDITOR, CONSUMER)  # consumer: consumer groups' members (issue 17)
AUDITORS = (AUDITOR, ADMIN)  # the roles that may read the log
