"""``consentry_resource`` stands on its own (no server module is imported), and ``consentry.resource`` still
names the very same objects for code written against the old module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import consentry_resource

ROOT = Path(__file__).resolve().parents[2]


def test_the_old_module_name_re_exports_the_package() -> None:
    import consentry.resource as old

    assert old.__all__ == consentry_resource.__all__
    for name in consentry_resource.__all__:
        assert getattr(old, name) is getattr(consentry_resource, name), name


def test_the_package_imports_nothing_of_the_server() -> None:
    code = (
        "import sys, consentry_resource\n"
        "print(sorted(m for m in sys.modules if m == 'consentry' or m.startswith('consentry.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
