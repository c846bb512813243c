"""The benchmark harness behind ``consentry bench`` / ``make bench`` (see docs/performance.md).

Importable without wrk: only running a wrk scenario needs the ``wrk`` binary (Debian's package).
"""

from __future__ import annotations
