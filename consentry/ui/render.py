"""Server-rendered pages (Jinja2 with autoescaping; no JavaScript is needed to use them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(
    request: Request, template: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    rt = getattr(request.app.state, "runtime", None)
    issuer = rt.settings.issuer_url if rt else "/"
    body = env.get_template(template).render(issuer=issuer, **context)
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})


def render_error(request: Request, message: str, *, status: int = 400, error: str = "error") -> HTMLResponse:
    return render(request, "error.html", status=status, error=error, message=message)
