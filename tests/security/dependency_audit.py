"""Dependency audit for ``make test``: ``pip-audit`` over the installed environment, reported in one clear line.

Exit status: 1 when a known vulnerability is reported for an installed package; 0 otherwise, including when
the vulnerability service cannot be reached or cannot audit the packages from this machine (a network limit,
not a project defect) -- that is then said plainly instead of pip-audit's misleading "No known
vulnerabilities found". Run it with ``.venv/bin/python -m tests.security.dependency_audit``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIP_AUDIT = ROOT / ".venv" / "bin" / "pip-audit"
TIMEOUT = 300


def run() -> int:
    if not PIP_AUDIT.exists():
        print("dependency audit: NOT RUN (pip-audit is not installed; it is in the test extras)")
        return 0
    command = [str(PIP_AUDIT), "--local", "--skip-editable", "--progress-spinner", "off", "--format", "json"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        print(f"dependency audit: NOT DONE (the vulnerability service did not answer within {TIMEOUT}s)")
        return 0
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1][:300]
        print(f"dependency audit: NOT DONE (pip-audit could not reach its vulnerability service: {reason})")
        return 0
    deps = report.get("dependencies", [])
    audited = [d for d in deps if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    if vulnerable:
        print(f"dependency audit: FAILED, known vulnerabilities in {len(vulnerable)} of {len(audited)} packages:")
        for dep in vulnerable:
            for vuln in dep["vulns"]:
                fixed = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
                print(f"  {dep['name']} {dep['version']}: {vuln.get('id')} (fixed in {fixed})")
        return 1
    if not audited:
        print(
            f"dependency audit: NOT DONE (the vulnerability service could audit none of the {len(deps)} installed "
            "packages from this machine; run `pip-audit --local` where PyPI's JSON API or OSV is reachable)"
        )
        return 0
    skipped = len(deps) - len(audited)
    note = f"; {skipped} could not be audited" if skipped else ""
    print(f"dependency audit: no known vulnerabilities in {len(audited)} packages{note}")
    return 0


if __name__ == "__main__":
    sys.exit(run())
