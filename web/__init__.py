"""aiohttp: HTTP in, JSON out."""
