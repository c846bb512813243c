"""``consentry users import FILE``: run a users import job in this process, with a progress bar on stderr.

The job is the same durable job the Management API creates (``services.jobs``): a server running meanwhile sees
its progress at ``GET /api/v2/jobs/{id}``, and an interrupted import is resumed by the next server start (or by
running the command's job again). The summary is printed as JSON on stdout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


async def import_users(rt: Any, path: Path, connection: str | None, upsert: bool) -> dict[str, Any]:
    from consentry.services import job_runner, jobs
    from consentry.services.errors import invalid

    tenant = await rt.catalog.tenant()
    name = connection or tenant["default_directory"]
    found = [c for c in await rt.catalog.connections() if c.name == name or c.id == name]
    if not found:
        raise invalid(f"The connection does not exist: {name[:128]}.", "inexistent_connection")
    job = await jobs.create_import(
        rt, connection_id=found[0].id, users_file=path.read_bytes(), upsert=upsert, external_id=None
    )
    columns = (TextColumn("importing users"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task("import", total=job.total)
        await job_runner.drain(rt, lambda done, total: bar.update(task, completed=done, total=total), job.id)
    done = await jobs.get_job(rt, job.id)
    return {
        "id": done.id,
        "status": done.status,
        "connection_id": done.connection_id,
        "summary": {"failed": done.failed, "updated": done.updated, "inserted": done.inserted, "total": done.total},
    }
