"""jobs/users-imports and users-exports: Auth0's file formats, progress, errors, resuming after a stop, and the
imported users signing in (argon2 and bcrypt hashes)."""

from __future__ import annotations

import csv
import gzip
import io
import json
from typing import Any
from urllib.parse import urlsplit

import bcrypt
import httpx
import orjson
import pytest
from nacl import pwhash
from sqlalchemy import func, select

from consentry.clock import FrozenClock
from consentry.runtime import Runtime
from consentry.services import job_runner, jobs
from consentry.storage.models import User
from tests.integration.management.helpers import assert_error

PASSWORD = "imported password 1"
# Cheap to verify (libsodium's minimum cost): 10,000 users import and one signs in quickly.
CHEAP_ARGON2 = pwhash.argon2id.str(PASSWORD.encode(), opslimit=1, memlimit=8192).decode()
CHEAP_BCRYPT = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()


class Stopped(BaseException):
    """Stands for the process being killed between two batches."""


def _users(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "email": f"user{i:05d}@example.com",
            "email_verified": True,
            "given_name": f"User {i}",
            "custom_password_hash": {"algorithm": "argon2", "hash": {"value": CHEAP_ARGON2}},
        }
        for i in range(start, start + count)
    ]


async def _connection_id(mgmt: httpx.AsyncClient) -> str:
    found = (await mgmt.get("/api/v2/connections", params={"name": "Username-Password-Authentication"})).json()
    return str(found[0]["id"])


async def _post_import(mgmt: httpx.AsyncClient, users: Any, **form: str) -> httpx.Response:
    data = users if isinstance(users, bytes) else orjson.dumps(users)
    return await mgmt.post(
        "/api/v2/jobs/users-imports",
        files={"users": ("users.json", data, "application/json")},
        data={"connection_id": await _connection_id(mgmt), **form},
    )


async def _password_app(mgmt: httpx.AsyncClient) -> dict[str, Any]:
    r = await mgmt.post("/api/v2/clients", json={"name": "Web", "app_type": "regular_web", "grant_types": ["password"]})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _sign_in(client: httpx.AsyncClient, app: dict[str, Any], email: str, password: str = PASSWORD) -> int:
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": email,
            "password": password,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": "openid",
        },
    )
    return r.status_code


async def test_import_of_10000_users_completes_and_they_sign_in(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    users = _users(10_000)
    users[0] = {"email": "bcrypt@example.com", "password_hash": CHEAP_BCRYPT}
    body = orjson.dumps(users)
    assert len(body) > 1024 * 1024  # more than the request limit of other endpoints: the upload's own limit
    r = await _post_import(mgmt, body)
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["type"] == "users_import" and job["status"] == "pending" and job["id"].startswith("job_")
    await job_runner.settle(runtime)
    done = (await mgmt.get(f"/api/v2/jobs/{job['id']}")).json()
    assert done["status"] == "completed" and done["percentage_done"] == 100
    assert done["summary"] == {"failed": 0, "updated": 0, "inserted": 10_000, "total": 10_000}
    assert (await mgmt.get(f"/api/v2/jobs/{job['id']}/errors")).json() == []
    async with runtime.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == 10_000
    app = await _password_app(mgmt)
    assert await _sign_in(mgmt, app, "user09999@example.com") == 200  # argon2id hash
    assert await _sign_in(mgmt, app, "bcrypt@example.com") == 200  # bcrypt hash
    assert await _sign_in(mgmt, app, "user00042@example.com", "wrong password") == 403
    found = (await mgmt.get("/api/v2/users-by-email", params={"email": "user00042@example.com"})).json()
    assert found[0]["given_name"] == "User 42" and found[0]["email_verified"] is True


async def test_a_stopped_import_resumes_where_it_stopped(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    clock = FrozenClock()
    runtime.clock = clock
    connection_id = await _connection_id(mgmt)
    job = await jobs.create_import(
        runtime, connection_id=connection_id, users_file=orjson.dumps(_users(1200)), upsert=False, external_id="e1"
    )
    seen: list[tuple[int, int]] = []

    def stop_after_first_batch(done: int, total: int) -> None:
        seen.append((done, total))
        raise Stopped

    with pytest.raises(Stopped):
        await job_runner.drain(runtime, stop_after_first_batch)
    clock.advance(10)
    midway = (await mgmt.get(f"/api/v2/jobs/{job.id}")).json()
    assert midway["status"] == "processing" and midway["percentage_done"] == 41  # 500 of 1200
    assert midway["summary"]["inserted"] == 500 and midway["time_left_seconds"] >= 0 and midway["external_id"] == "e1"
    await job_runner.drain(runtime)  # the lease still belongs to the stopped worker: nothing is taken over
    assert (await mgmt.get(f"/api/v2/jobs/{job.id}")).json()["status"] == "processing"
    clock.advance(job_runner.LEASE)
    await job_runner.drain(runtime, lambda done, total: seen.append((done, total)))
    assert seen == [(500, 1200), (1000, 1200), (1200, 1200)]
    done = (await mgmt.get(f"/api/v2/jobs/{job.id}")).json()
    assert done["status"] == "completed" and done["summary"]["inserted"] == 1200 and done["summary"]["failed"] == 0


async def test_errors_duplicates_and_upsert(mgmt: httpx.AsyncClient, runtime: Runtime) -> None:
    users = [
        *_users(2),
        {"email": "user00000@example.com"},  # a duplicate within the file
        {"email": "md5@example.com", "custom_password_hash": {"algorithm": "md5", "hash": {"value": "x"}}},
        {"username": "has space"},
        "not an object",
    ]
    r = await _post_import(mgmt, users)
    await job_runner.settle(runtime)
    done = (await mgmt.get(f"/api/v2/jobs/{r.json()['id']}")).json()
    assert done["summary"] == {"failed": 4, "updated": 0, "inserted": 2, "total": 6}
    errors = (await mgmt.get(f"/api/v2/jobs/{r.json()['id']}/errors")).json()
    assert [e["errors"][0]["code"] for e in errors] == [
        "DUPLICATED_USER",
        "UNSUPPORTED_HASH",
        "INVALID_FORMAT",
        "INVALID_TYPE",
    ]
    assert errors[0]["user"] == {"email": "user00000@example.com"}
    # upsert: existing users are updated (their hash is kept when the file has none)
    r = await _post_import(mgmt, [{"email": "user00001@example.com", "given_name": "Renamed"}], upsert="true")
    await job_runner.settle(runtime)
    assert (await mgmt.get(f"/api/v2/jobs/{r.json()['id']}")).json()["summary"]["updated"] == 1
    app = await _password_app(mgmt)
    assert await _sign_in(mgmt, app, "user00001@example.com") == 200
    again = await _post_import(mgmt, [{"email": "user00001@example.com"}])
    await job_runner.settle(runtime)
    assert (await mgmt.get(f"/api/v2/jobs/{again.json()['id']}")).json()["summary"]["failed"] == 1


async def test_import_refusals(mgmt: httpx.AsyncClient) -> None:
    assert_error(await _post_import(mgmt, b"{not json"), 400, "invalid_users_file")
    assert_error(await _post_import(mgmt, {"email": "a@x.io"}), 400, "invalid_users_file")
    assert_error(await _post_import(mgmt, []), 400, "invalid_users_file")
    r = await mgmt.post(
        "/api/v2/jobs/users-imports",
        files={"users": ("u.json", b"[]", "application/json")},
        data={"connection_id": "con_nope"},
    )
    assert_error(r, 400, "inexistent_connection")
    r = await mgmt.post("/api/v2/jobs/users-imports", data={"connection_id": "con_nope"})
    assert r.status_code == 400
    assert_error(await mgmt.get("/api/v2/jobs/job_nope"), 404, "inexistent_job")


@pytest.mark.parametrize("file_format", ["json", "csv"])
async def test_export_with_fields_and_download(mgmt: httpx.AsyncClient, runtime: Runtime, file_format: str) -> None:
    await _post_import(mgmt, _users(3))
    await job_runner.settle(runtime)
    fields = [{"name": "email"}, {"name": "given_name", "export_as": "first"}, {"name": "identities[0].connection"}]
    r = await mgmt.post(
        "/api/v2/jobs/users-exports",
        json={"connection_id": await _connection_id(mgmt), "format": file_format, "fields": fields},
    )
    assert r.status_code == 201, r.text
    await job_runner.settle(runtime)
    done = (await mgmt.get(f"/api/v2/jobs/{r.json()['id']}")).json()
    assert done["status"] == "completed" and done["type"] == "users_export" and done["format"] == file_format
    location = urlsplit(done["location"])
    download = await mgmt.get(f"{location.path}?{location.query}", headers={"Authorization": ""})
    assert download.status_code == 200 and download.headers["content-type"] == "application/gzip"
    text = gzip.decompress(download.content).decode()
    if file_format == "json":
        rows = [json.loads(line) for line in text.splitlines()]
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
    emails = sorted(row["email"] for row in rows)
    assert emails == [f"user{i:05d}@example.com" for i in range(3)]
    assert {row["first"] for row in rows} == {"User 0", "User 1", "User 2"}
    assert {row["identities[0].connection"] for row in rows} == {"Username-Password-Authentication"}
    forged = await mgmt.get(f"{location.path}?token=forged")
    assert_error(forged, 404, "inexistent_job")
