"""The resource-server helper moved to its own top-level package, ``consentry_resource`` (docs/resource.md).

This name stays importable for code written against it and names the very same objects; new code imports
``consentry_resource``.
"""

from __future__ import annotations

from consentry_resource import *  # noqa: F403 - every public name of the package, nothing else
from consentry_resource import __all__ as __all__
