"""The database URL as the ``consentry`` command shows it. ``cli.py`` imports this module lazily: the supervisor
that ``serve`` keeps running never loads SQLAlchemy."""

from __future__ import annotations

from sqlalchemy.engine import make_url


def printable_url(url: str) -> str:
    """The database URL with its password hidden, for error messages."""
    return make_url(url).render_as_string(hide_password=True)
