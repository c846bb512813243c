"""Tables added for Dynamic Client Registration governance (migrations ``0002_dcr``, ``0011``).

Kept apart from ``models.py`` so the DCR feature owns its schema; importing this module registers
the table on the shared ``Base.metadata``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from consentry.storage.models import Base


class InitialAccessToken(Base):
    """An admin-issued bearer token that allows ``uses_left`` more registrations (RFC 7591 §3)."""

    __tablename__ = "initial_access_tokens"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    uses_left: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)


class PendingRegistration(Base):
    """A client registered dynamically that no user has approved yet (``services.dcr_pending``).

    It is not a ``clients`` row: holding it writes no configuration (no cache invalidation on any worker),
    and thousands that nobody approves go in one statement when they expire. ``client`` holds the columns of
    the ``clients`` row it becomes at its first consent, under the same ``client_id``.
    """

    __tablename__ = "pending_registrations"
    client_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))  # active | pending (awaiting an administrator's approval)
    registration_ip: Mapped[str | None] = mapped_column(String(64), index=True)
    registration_token_hash: Mapped[str] = mapped_column(String(128))
    client: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)
