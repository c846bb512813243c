"""``GET /``: a small page that says what this server is and where to go, instead of a 404 on first visit."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from consentry.ui.render import render

router = APIRouter(tags=["Universal Login"], include_in_schema=False)


@router.get("/")
async def welcome(request: Request) -> Response:
    """The issuer, discovery, the dashboard, the user's connected apps and where the documentation is."""
    return render(request, "welcome.html")
