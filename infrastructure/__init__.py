"""Adapters behind the domain's ports: PostgreSQL (asyncpg), settings, serialisation."""
