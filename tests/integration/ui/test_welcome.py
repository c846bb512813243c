"""``GET /`` explains the server on a first visit (instead of a 404), and ``consentry --help`` is plain text."""

from __future__ import annotations

import re

import httpx
import pytest
from typer.testing import CliRunner

from consentry.cli import app as cli
from tests.conftest import ISSUER
from tests.integration.ui.conftest import text_of


async def test_root_is_a_welcome_page_with_the_issuer_and_where_to_go(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-store"
    links = dict(re.findall(r'<a id="([a-z]+)" href="([^"]+)"', r.text))
    assert links == {
        "discovery": f"{ISSUER}.well-known/openid-configuration",
        "admin": f"{ISSUER}admin",
        "apps": f"{ISSUER}u/apps",
        "api": f"{ISSUER}api/v2/openapi.json",
    }
    text = text_of(r.text)
    assert f"Issuer {ISSUER}" in text and "consentry admin create-user" in text and "docs/api.md" in text
    for path in links.values():  # every link answers (the dashboard and the apps page ask to sign in)
        assert (await client.get(path.removeprefix(ISSUER.rstrip("/")))).status_code in (200, 302, 303)


async def test_unknown_paths_are_still_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/nope")).status_code == 404


def _commands(group: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    import typer.main

    click_group = typer.main.get_command(group)  # type: ignore[arg-type]
    found: list[tuple[str, ...]] = [prefix]

    def walk(cmd: object, path: tuple[str, ...]) -> None:
        for name, sub in getattr(cmd, "commands", {}).items():
            found.append((*path, name))
            walk(sub, (*path, name))

    walk(click_group, prefix)
    return found


@pytest.mark.parametrize("command", _commands(cli), ids=lambda c: " ".join(c) or "consentry")
def test_help_renders_without_stray_markup(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"], env={"COLUMNS": "200", "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    for stray in ("``", "[/", "[bold", "[dim", "\\n", ":func:", ":class:", "<bool>", "<list[", "<str>", "range>", "╭"):
        assert stray not in result.output, (stray, result.output)
