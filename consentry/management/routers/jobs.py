"""``/api/v2/jobs``: users imports (multipart upload of Auth0's JSON user file) and exports (ndjson or CSV),
their progress (``GET /jobs/{id}``), an import's per-user errors, and an export's gzip download link."""

from __future__ import annotations

import gzip
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from consentry.clock import iso
from consentry.management.auth import Principal, require
from consentry.management.pagination import parse_bool
from consentry.management.routers.common import runtime
from consentry.runtime import Runtime
from consentry.services import job_runner
from consentry.services import jobs as service
from consentry.storage.jobs import StoredJob
from consentry.web import json_response

router = APIRouter(prefix="/api/v2/jobs", tags=["Jobs"])
Import = Annotated[Principal, Depends(require("create:users"))]
Export = Annotated[Principal, Depends(require("read:users"))]
ReadJob = Annotated[Principal, Depends(require("create:users", "read:users"))]


class FieldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., min_length=1, max_length=128)
    export_as: str | None = Field(None, min_length=1, max_length=128)


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    connection_id: str | None = Field(None, min_length=1, max_length=64)
    format: Literal["json", "csv"] = "json"
    limit: int | None = Field(None, ge=1, le=service.MAX_EXPORT)
    fields: list[FieldIn] | None = Field(None, min_length=1, max_length=100)


def job_json(rt: Runtime, job: StoredJob) -> dict[str, Any]:
    """Auth0's job object: status, progress (``percentage_done``, ``time_left_seconds``), summary or location."""
    body: dict[str, Any] = {
        "id": job.id,
        "type": job.type,
        "status": job.status,
        "created_at": iso(job.created_at),
    }
    if job.connection_id:
        body["connection_id"] = job.connection_id
    options = job.options
    if job.type == service.IMPORT:
        body["upsert"] = bool(options.get("upsert"))
        if options.get("external_id"):
            body["external_id"] = options["external_id"]
        body["summary"] = {"failed": job.failed, "updated": job.updated, "inserted": job.inserted, "total": job.total}
    else:
        body["format"] = options.get("format", "json")
        body["fields"] = options.get("fields", [])
        if options.get("limit"):
            body["limit"] = options["limit"]
    if job.total and job.status in ("processing", "completed"):
        body["percentage_done"] = 100 if job.status == "completed" else min(99, job.processed * 100 // job.total)
    if job.status == "processing" and job.started_at is not None and job.processed and job.total:
        rate = job.processed / max(rt.clock.now() - job.started_at, 1e-3)
        body["time_left_seconds"] = int((job.total - job.processed) / rate)
    if job.status == "completed" and job.type == service.EXPORT:
        body["percentage_done"] = 100
        token = service.download_token(rt, job.id)
        body["location"] = rt.settings.url(f"api/v2/jobs/{job.id}/download?token={token}")
    if job.status_details:
        body["status_details"] = job.status_details
    return body


@router.post("/users-imports", summary="Create an import users job", operation_id="post_users_imports", status_code=202)
async def post_users_imports(
    request: Request,
    _: Import,
    users: Annotated[UploadFile, File()],
    connection_id: Annotated[str, Form(min_length=1, max_length=64)],
    upsert: Annotated[str | None, Form(max_length=8)] = None,
    external_id: Annotated[str | None, Form(max_length=128)] = None,
    send_completion_email: Annotated[str | None, Form(max_length=8)] = None,
) -> Response:
    rt = runtime(request)
    job = await service.create_import(
        rt,
        connection_id=connection_id,
        users_file=await users.read(),
        upsert=parse_bool(upsert, "upsert"),
        external_id=external_id,
    )
    job_runner.kick(rt)
    return json_response(job_json(rt, job), 202)


@router.post("/users-exports", summary="Create an export users job", operation_id="post_users_exports", status_code=201)
async def post_users_exports(request: Request, body: ExportIn, _: Export) -> Response:
    rt = runtime(request)
    fields = [service.ExportField(f.name, f.export_as or f.name) for f in body.fields] if body.fields else None
    job = await service.create_export(
        rt, connection_id=body.connection_id, file_format=body.format, fields=fields, limit=body.limit
    )
    job_runner.kick(rt)
    return json_response(job_json(rt, job), 201)


@router.get("/{job_id}", summary="Get a job", operation_id="get_jobs_by_id")
async def get_job(request: Request, job_id: str, _: ReadJob) -> Response:
    rt = runtime(request)
    return json_response(job_json(rt, await service.get_job(rt, job_id)))


@router.get("/{job_id}/errors", summary="Get a job's errors", operation_id="get_errors")
async def get_job_errors(request: Request, job_id: str, _: Import) -> Response:
    found = await service.job_errors(runtime(request), job_id)
    return json_response([{"user": user, "errors": errors} for user, errors in found])


@router.get(
    "/{job_id}/download",
    summary="Download an export's file (gzip)",
    operation_id="get_export_file",
    response_class=Response,
    responses={200: {"description": "The export, gzip-compressed", "content": {"application/gzip": {}}}},
)
async def download_export(
    request: Request, job_id: str, token: str = Query(..., min_length=1, max_length=128)
) -> Response:
    """The link in a finished export's ``location``: its token is the credential (no bearer token, as Auth0's)."""
    job, text = await service.export_file(runtime(request), job_id, token)
    extension = "csv" if job.options.get("format") == "csv" else "json"
    return Response(
        gzip.compress(text.encode()),
        media_type="application/gzip",
        headers={"Content-Disposition": f'attachment; filename="{job.id}.{extension}.gz"', "Cache-Control": "no-store"},
    )
