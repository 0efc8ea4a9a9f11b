"""The domain does no I/O: it imports the standard library's pure parts and eventsourcing.domain."""

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
FORBIDDEN = (
    "aiohttp",
    "asyncpg",
    "infrastructure",
    "web",
    "socket",
    "os",
    "subprocess",
    "pathlib",
    "requests",
    "io",
    "shutil",
    "tempfile",
    "asyncio",
    "ssl",
    "http",
    "urllib.request",
    "sqlite3",
    "importlib",
    "ctypes",
    "multiprocessing",
    "threading",
    "select",
    "signal",
)
ALLOWED_THIRD_PARTY = ("eventsourcing.domain",)


def imports_of(path: Path) -> list[str]:
    """Every module ``path`` imports, absolute names (relative ones resolved inside domain)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names.append(f"domain.{module}".rstrip(".") if node.level else module)
    return names


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def is_allowed(module: str) -> bool:
    if any(within(module, bad) for bad in FORBIDDEN):
        return False
    if within(module, "domain") or module in ALLOWED_THIRD_PARTY:
        return True
    return module.split(".")[0] in sys.stdlib_module_names


def domain_modules() -> list[Path]:
    return sorted(DOMAIN.rglob("*.py"))


def test_the_domain_has_modules_to_check() -> None:
    names = {p.name for p in domain_modules()}
    assert {"funko.py", "rules.py", "ports.py", "services.py"} <= names


@pytest.mark.parametrize("path", domain_modules(), ids=lambda p: p.name)
def test_a_domain_module_imports_no_io(path: Path) -> None:
    offending = [m for m in imports_of(path) if not is_allowed(m)]
    assert offending == [], f"{path.name} imports {offending}"


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        ("os", False),
        ("os.path", False),
        ("asyncpg", False),
        ("infrastructure.event_store", False),
        ("web.app", False),
        ("urllib.request", False),
        ("pathlib", False),
        ("requests", False),
        ("eventsourcing.persistence", False),
        ("eventsourcing.domain", True),
        ("urllib.parse", True),
        ("decimal", True),
        ("domain.rules", True),
    ],
)
def test_the_check_tells_io_imports_from_pure_ones(module: str, allowed: bool) -> None:
    assert is_allowed(module) is allowed


def test_the_check_sees_imports_however_they_are_written(tmp_path: Path) -> None:
    source = tmp_path / "sneaky.py"
    source.write_text(
        "import json, os\nfrom asyncpg import Pool\ndef f():\n    import socket\n"
        "from . import rules\n"
    )
    assert sorted(imports_of(source)) == ["asyncpg", "domain", "json", "os", "socket"]
