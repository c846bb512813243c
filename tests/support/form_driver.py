"""Drive another server's sign-in pages like a browser without JavaScript: follow redirects, submit the page's
first form with its hidden fields plus ours, until a redirect reaches ``stop_prefix`` (our callback)."""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin

import httpx

_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
_ATTR = re.compile(r'([a-zA-Z_:-]+)\s*=\s*"([^"]*)"')
_FIELD = re.compile(r"<(input|button)\b([^>]*)>", re.I)


def first_form(page: str, base: str) -> tuple[str, str, dict[str, str]]:
    """(method, absolute action, default fields) of the page's first form; the first named button is pressed."""
    found = _FORM.search(page)
    assert found, f"no form on the page: {page[:500]}"
    attrs = {k.lower(): html.unescape(v) for k, v in _ATTR.findall(found.group(1))}
    fields: dict[str, str] = {}
    pressed = False
    for tag, raw in _FIELD.findall(found.group(2)):
        a = {k.lower(): html.unescape(v) for k, v in _ATTR.findall(raw)}
        if "name" not in a:
            continue
        if tag.lower() == "button" or a.get("type") == "submit":
            if not pressed:
                fields[a["name"]] = a.get("value", "")
                pressed = True
            continue
        fields.setdefault(a["name"], a.get("value", ""))
    return attrs.get("method", "get").upper(), urljoin(base, attrs.get("action", base)), fields


async def drive(http: httpx.AsyncClient, url: str, stop_prefix: str, fill: dict[str, str], steps: int = 15) -> str:
    """The URL (on ``stop_prefix``) the other server finally redirects the browser to."""
    response = await http.get(url)
    for _ in range(steps):
        if response.status_code in (301, 302, 303, 307):
            location = urljoin(str(response.url), response.headers["location"])
            if location.startswith(stop_prefix):
                return location
            response = await http.get(location)
            continue
        assert response.status_code == 200, f"{response.status_code} at {response.url}: {response.text[:800]}"
        method, action, fields = first_form(response.text, str(response.url))
        fields.update({k: v for k, v in fill.items() if k in fields})
        response = await (http.post(action, data=fields) if method == "POST" else http.get(action, params=fields))
    raise AssertionError("the other server never sent the browser back")
