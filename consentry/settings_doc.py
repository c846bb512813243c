"""Render docs/configuration.md from the ``Settings`` class, so the documentation cannot drift."""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import PydanticUndefined

from consentry.settings import ENV_PREFIX, Settings

HEADER = """# Configuration

Consentry reads its settings from environment variables prefixed `CONSENTRY_` (and from a `.env`
file in the working directory). An unknown `CONSENTRY_*` variable or an invalid value stops the
start with a one-line error naming the variable. List values are JSON (`'["10.0.0.1"]'`).
This page is generated from `consentry/settings.py` (`python -m consentry.settings_doc > docs/configuration.md`).

| variable | type | default | meaning |
|---|---|---|---|
"""


def _default(field: Any) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined:
        return "(required)"
    else:
        value = field.default
    if value == "" or value is None:
        return ""
    return f"`{json.dumps(value) if isinstance(value, list | dict) else value}`"


def _type(field: Any) -> str:
    text = str(field.annotation).replace("typing.", "").replace("<class '", "").replace("'>", "")
    return text.replace("pathlib.", "").replace("|", "\\|")


def render() -> str:
    rows = []
    for name, field in Settings.model_fields.items():
        description = field.description or ""
        rows.append(f"| `{ENV_PREFIX}{name.upper()}` | {_type(field)} | {_default(field)} | {description} |")
    return HEADER + "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(render(), end="")
