"""Checks every browser test runs on every page it visits: an accessibility smoke test, no console errors.

Not a full audit (that needs axe-core, which would be a download): the checks catch what breaks keyboard
and screen-reader use most often, and that a CSP violation (an inline style or script) shows up as an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

SMOKE_CHECK = """() => {
  const problems = [];
  const describe = (el) => `${el.tagName.toLowerCase()}[name=${el.name || ""}]#${el.id || ""}`;
  const fields = document.querySelectorAll("input:not([type=hidden]), select, textarea");
  for (const el of fields) {
    const labelled = (el.labels && el.labels.length > 0 && [...el.labels].some(l => l.textContent.trim()))
      || (el.getAttribute("aria-label") || "").trim() || el.getAttribute("aria-labelledby");
    if (!labelled) problems.push(`unlabelled ${describe(el)}`);
  }
  for (const el of document.querySelectorAll("button, [role=button], input[type=submit]")) {
    const name = (el.getAttribute("aria-label") || el.textContent || el.value || "").trim();
    if (!name) problems.push(`button without a name: ${describe(el)}`);
  }
  for (const el of document.querySelectorAll("a[href]")) {
    if (!(el.getAttribute("aria-label") || el.textContent || "").trim()) problems.push(`link without text: ${el.href}`);
  }
  for (const img of document.querySelectorAll("img")) {
    if (!img.hasAttribute("alt")) problems.push(`img without alt: ${img.src}`);
  }
  const ids = [...document.querySelectorAll("[id]")].map(e => e.id);
  for (const id of new Set(ids)) if (ids.filter(x => x === id).length > 1) problems.push(`duplicate id ${id}`);
  for (const el of document.querySelectorAll("[aria-describedby]")) {
    for (const ref of el.getAttribute("aria-describedby").split(/\\s+/)) {
      if (!document.getElementById(ref)) problems.push(`aria-describedby points nowhere: ${ref}`);
    }
  }
  if (!document.documentElement.lang) problems.push("html has no lang");
  if (!document.title.trim()) problems.push("page has no title");
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) problems.push(`expected one h1, found ${h1}`);
  if (!document.querySelector('meta[name=viewport]')) problems.push("no viewport meta (phones)");
  return problems;
}"""


class Watched:
    """A Playwright page that remembers console errors and uncaught exceptions, and checks each page."""

    def __init__(self, page: Any, prefix: str) -> None:
        self.page, self.prefix = page, prefix
        self.errors: list[str] = []
        page.on(
            "console",
            lambda msg: (
                self.errors.append(f"console {msg.type}: {msg.text}") if msg.type in ("error", "warning") else None
            ),
        )
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))

    def check(self, shot: str | None = None) -> None:
        """Smoke-check the page now shown; save a screenshot ``{prefix}-{shot}.png`` when named."""
        self.page.wait_for_load_state("load")
        problems = self.page.evaluate(SMOKE_CHECK)
        assert not problems, f"{self.page.url}: {problems}"
        assert not self.errors, f"{self.page.url}: {self.errors}"
        if shot:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(ARTIFACTS / f"{self.prefix}-{shot}.png"), full_page=True)
