"""The layers of docs/architecture.md hold: SQL only below ``storage/``, Auth0's wire format only at the edges.

Read from the source with ``ast`` (what a module imports, even inside a function or under ``TYPE_CHECKING``), so a
new import that breaks the seam fails here rather than in a review.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "consentry"

# Packages above the storage seam: none of them builds SQL or names a SQLAlchemy type.
ABOVE_STORAGE = ("oauth", "login", "consent", "tokens", "management", "admin", "ui", "services", "web")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules_under(package: str) -> list[Path]:
    return sorted((PACKAGE / package).rglob("*.py"))


def offenders(package: str, forbidden: Callable[[str], bool]) -> dict[str, list[str]]:
    """Each module of ``package`` that imports a forbidden module, with what it imports."""
    found = {
        str(path.relative_to(PACKAGE)): sorted(filter(forbidden, imported_modules(path)))
        for path in modules_under(package)
    }
    return {name: modules for name, modules in found.items() if modules}


@pytest.mark.parametrize("package", ABOVE_STORAGE)
def test_no_sql_above_the_storage_seam(package: str) -> None:
    assert offenders(package, lambda m: m.split(".")[0] == "sqlalchemy") == {}


def test_services_do_not_speak_the_management_api() -> None:
    assert offenders("services", lambda m: m.startswith("consentry.management")) == {}


def test_storage_imports_nothing_above_it() -> None:
    above = tuple(f"consentry.{p}" for p in ABOVE_STORAGE)
    assert offenders("storage", lambda m: m.startswith(above)) == {}


def test_the_check_sees_imports() -> None:
    """The scanner itself: a module that imports SQLAlchemy is found (so the tests above can fail)."""
    assert "sqlalchemy.ext.asyncio" in imported_modules(PACKAGE / "storage" / "db.py")
    assert "sqlalchemy" in {m.split(".")[0] for m in imported_modules(PACKAGE / "storage" / "models.py")}
