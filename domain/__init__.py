"""The Funko catalog's domain: aggregates, rules, ports and services. No I/O here."""
