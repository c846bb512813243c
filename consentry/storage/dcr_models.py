"""Tables added for Dynamic Client Registration governance (migration ``0002_dcr``).

Kept apart from ``models.py`` so the DCR feature owns its schema; importing this module registers
the table on the shared ``Base.metadata``.
"""

from __future__ import annotations

from sqlalchemy import Float, Integer, String
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
