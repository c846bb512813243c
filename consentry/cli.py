"""The ``consentry`` command: serve, migrate, bootstrap data, rotate keys.

Every command reads the same ``CONSENTRY_*`` settings. Results go to stdout (JSON where it is data);
errors go to stderr with a non-zero exit code.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import typer

from consentry.services.errors import ServiceError
from consentry.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from consentry.commands.resource_servers import SigningAlg


def _typer(help_text: str, **options: Any) -> typer.Typer:
    """A command group whose help is plain text: docstrings are not read as rich markup, flags show no type."""
    return typer.Typer(help=help_text, no_args_is_help=True, rich_markup_mode=None, **options)


app = _typer("Consentry: OAuth 2.0 / OpenID Connect for third-party applications and consent.", add_completion=False)
db_app = _typer("Database schema.")
admin_app = _typer("Administrative bootstrap.")
users_app = _typer("End users.")
apis_app = _typer("APIs (resource servers).")
keys_app = _typer("Signing keys.")
dcr_app = _typer("Dynamically registered clients.")
tls_app = _typer("TLS served directly: development certificates.")
for sub, name in (
    (db_app, "db"),
    (admin_app, "admin"),
    (users_app, "users"),
    (apis_app, "apis"),
    (keys_app, "keys"),
    (dcr_app, "dcr"),
    (tls_app, "tls"),
):
    app.add_typer(sub, name=name)

T = TypeVar("T")


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def signing_alg_of(value: str) -> SigningAlg:
    """``--signing-alg``: RS256 or ES256 (docs/api.md, *Signing algorithms*)."""
    if value not in ("RS256", "ES256"):
        fail("--signing-alg must be RS256 or ES256")
    return cast("SigningAlg", value)


def settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc), 2)
        raise  # unreachable


def prepare(cfg: Settings) -> None:
    """Migrate the schema and run the idempotent bootstrap."""
    from consentry.bootstrap import bootstrap
    from consentry.runtime import Runtime
    from consentry.storage.migrate import upgrade

    try:
        upgrade(cfg.database_url)
    except Exception as exc:  # noqa: BLE001 - turn any driver error into one line
        reason = f"{type(exc).__name__}: {exc}".split("\n")[0]
        fail(f"cannot migrate the database at {_safe_url(cfg.database_url)}: {reason}")

    async def run() -> None:
        rt = Runtime.create(cfg)
        try:
            await bootstrap(rt)
        finally:
            await rt.db.dispose()

    asyncio.run(run())


def prepare_here() -> None:
    """``prepare`` with this process's settings (the child that ``serve`` starts), outside typer: a failure is
    its one-line message and the exit code, as from the command line."""
    try:
        prepare(settings())
    except typer.Exit as stop:
        sys.exit(stop.exit_code)


def _prepare_in_child() -> None:
    """Migrate and bootstrap in a child process, so that the supervisor, which stays up as long as the workers,
    never loads SQLAlchemy, Alembic or the application (its memory, docs/performance.md)."""
    code = subprocess.call([sys.executable, "-c", "from consentry.cli import prepare_here; prepare_here()"])
    if code:
        raise typer.Exit(code)


def _safe_url(url: str) -> str:
    from consentry.storage.cli_reads import printable_url

    return printable_url(url)


def with_runtime(work: Callable[[Any], Awaitable[T]]) -> T:
    """Prepare the database, then run ``work(runtime)``; Management errors become one stderr line."""
    cfg = settings()
    prepare(cfg)
    from consentry.runtime import Runtime

    async def run() -> T:
        rt = Runtime.create(cfg)
        try:
            return await work(rt)
        finally:
            await rt.db.dispose()

    try:
        return asyncio.run(run())
    except ServiceError as exc:
        fail(exc.message)
        raise


def emit(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


@app.command()
def serve() -> None:
    """Migrate, bootstrap and run the HTTP(S) server in the foreground (what make run calls)."""
    cfg = settings()
    certfile, keyfile = _tls_files(cfg)
    _prepare_in_child()
    scheme = "https" if certfile else "http"
    typer.echo(f"Consentry listening on {scheme}://{cfg.host}:{cfg.port}/ (issuer {cfg.issuer_url})", err=True)
    # glibc malloc in the workers: two arenas instead of one per database thread, and a fixed mmap threshold so a
    # large buffer goes back to the OS when freed instead of raising the threshold and staying in the heap (RSS
    # per worker, performance.md). argon2's 19 MiB are libsodium's own mmap.
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", str(1024 * 1024))
    # Code objects without column tables (PEP 657): ~0.6 MB less per worker; tracebacks only lose their ^^^ marks.
    os.environ.setdefault("PYTHONNODEBUGRANGES", "1")
    options = {
        "host": cfg.host,
        "port": cfg.port,
        "workers": cfg.worker_count(),
        "ws": "none",  # no WebSocket route: not loading the websockets protocol saves ~2.6 MB per worker
        "log_level": cfg.log_level,
        "proxy_headers": False,
        "server_header": False,
        "access_log": cfg.log_level == "debug",
        "ssl_certfile": certfile,
        "ssl_keyfile": keyfile,
    }
    sys.stdout.flush()
    sys.stderr.flush()
    # The bare supervisor (consentry/supervisor.py) takes this process's place: the CLI, typer and the settings
    # do not stay in memory for as long as the server runs.
    os.execv(sys.executable, [sys.executable, "-m", "consentry.supervisor", json.dumps(options)])


def _tls_files(cfg: Settings) -> tuple[str | None, str | None]:
    """uvicorn's certificate and key when CONSENTRY_TLS_CERT_FILE is set, after checking the pair loads."""
    if cfg.tls_cert_file is None or cfg.tls_key_file is None:
        return None, None
    from consentry.tls_check import pair_problem  # the ssl module only: the supervisor stays small

    problem = pair_problem(cfg.tls_cert_file, cfg.tls_key_file)
    if problem:
        fail(problem, 2)
    return str(cfg.tls_cert_file), str(cfg.tls_key_file)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations (also bootstraps the tenant)."""
    prepare(settings())
    typer.echo("database is up to date", err=True)


@admin_app.command("create-client")
def create_client(
    name: str = typer.Option(..., "--name", metavar="NAME", help="Application name."),
    scope: list[str] = typer.Option([], "--scope", metavar="SCOPE", help="Management API scope (default: all)."),
) -> None:
    """A first-party machine-to-machine client with a Management API client grant; prints its credentials."""
    from consentry.commands.client_grants import ClientGrantCreate
    from consentry.commands.clients import ClientCreate
    from consentry.services.client_grants import create_client_grant
    from consentry.services.clients import create_client as create
    from consentry.tenant import MANAGEMENT_SCOPES

    unknown = [s for s in scope if s not in MANAGEMENT_SCOPES]
    if unknown:
        fail(f"unknown Management API scope: {unknown[0]}")

    async def work(rt: Any) -> dict[str, str]:
        async with rt.db.transaction() as s:
            body = ClientCreate(name=name, app_type="non_interactive", grant_types=["client_credentials"])
            row, secret = await create(rt, s, body, actor="cli")
            await create_client_grant(
                rt,
                s,
                ClientGrantCreate(
                    client_id=row.client_id,
                    audience=rt.settings.management_audience,
                    scope=list(scope or MANAGEMENT_SCOPES),
                    subject_type="client",
                ),
            )
        assert secret is not None  # a confidential client
        return {"client_id": row.client_id, "client_secret": secret}

    result = with_runtime(work)
    sys.stdout.write(json.dumps(result) + "\n")


def _create_user(email: str, password: str, username: str | None, name: str | None, is_admin: bool) -> None:
    from consentry.services.users import create_user, user_json

    async def work(rt: Any) -> dict[str, Any]:
        tenant = await rt.catalog.tenant()
        async with rt.db.transaction() as s:
            row, conn = await create_user(
                rt,
                s,
                connection=tenant["default_directory"],
                email=email,
                password=password,
                username=username,
                profile={"name": name} if name else None,
                is_admin=is_admin,
            )
        return user_json(row, conn.name)

    emit(with_runtime(work))


@admin_app.command("create-user")
def admin_create_user(
    email: str = typer.Option(..., "--email", metavar="EMAIL"),
    password: str = typer.Option(..., "--password", metavar="PASSWORD"),
) -> None:
    """A user with the admin-dashboard role."""
    _create_user(email, password, None, None, True)


@users_app.command("create")
def users_create(
    email: str = typer.Option(..., "--email", metavar="EMAIL"),
    password: str = typer.Option(..., "--password", metavar="PASSWORD"),
    username: str | None = typer.Option(None, "--username", metavar="USERNAME"),
    name: str | None = typer.Option(None, "--name", metavar="NAME"),
) -> None:
    """An end user in the default database connection."""
    _create_user(email, password, username, name, False)


@users_app.command("import")
def users_import(
    file: Path = typer.Argument(..., metavar="FILE", help="Auth0's JSON user import file (an array of users)."),
    connection: str | None = typer.Option(
        None, "--connection", metavar="NAME", help="Database connection (name or id); default: the tenant's."
    ),
    upsert: bool = typer.Option(False, "--upsert", help="Update users that already exist instead of failing them."),
) -> None:
    """Import users (Auth0's format, bcrypt or argon2 password hashes) with a progress bar."""
    from consentry.cli_import import import_users

    if not file.is_file():
        fail(f"no such file: {file}", 2)
    result = with_runtime(lambda rt: import_users(rt, file, connection, upsert))
    emit(result)
    if result["status"] != "completed":
        raise typer.Exit(1)


@apis_app.command("create")
def apis_create(
    identifier: str = typer.Option(..., "--identifier", metavar="URL", help="The API identifier (audience, resource)."),
    name: str = typer.Option(..., "--name", metavar="NAME"),
    scope: list[str] = typer.Option([], "--scope", metavar="SCOPE", help="A scope the API defines (repeatable)."),
    offline_access: bool = typer.Option(False, "--allow-offline-access", help="Allow refresh tokens."),
    signing_alg: str = typer.Option(
        "RS256", "--signing-alg", metavar="ALG", help="RS256, or ES256 access tokens (docs/api.md)."
    ),
) -> None:
    """Register an API (resource server) with its scopes."""
    from consentry.commands.resource_servers import ResourceServerCreate, ScopeIn
    from consentry.services.resource_servers import create_resource_server, resource_server_json

    async def work(rt: Any) -> dict[str, Any]:
        body = ResourceServerCreate(
            identifier=identifier,
            name=name,
            allow_offline_access=offline_access,
            scopes=[ScopeIn(value=v) for v in scope],
            signing_alg=signing_alg_of(signing_alg),
        )
        async with rt.db.transaction() as s:
            row = await create_resource_server(rt, s, body)
        return resource_server_json(row)

    try:
        emit(with_runtime(work))
    except ValueError as exc:
        fail(str(exc).split("\n")[0])


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Promote the next signing key (already in the JWKS) to current and publish a new next key; the key that
    was current stays in the JWKS until revoked. Prints the key that now signs."""

    async def work(rt: Any) -> dict[str, str]:
        row = await rt.keys.rotate()
        return {"kid": row.kid, "cert": row.cert}

    emit(with_runtime(work))


@dcr_app.command("prune")
def dcr_prune(
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be removed; change nothing."),
) -> None:
    """Remove unused dynamically registered clients (settings dcr_prune_*); prints them as JSON."""
    from consentry.services.dcr_prune import prune

    emit(with_runtime(lambda rt: prune(rt, dry_run=dry_run)))


@dcr_app.command("create-token")
def dcr_create_token(
    uses: int = typer.Option(1, "--uses", metavar="N", min=1, help="How many registrations the token allows."),
    expires_in: int = typer.Option(
        86400, "--expires-in", metavar="SECONDS", min=0, help="Lifetime in seconds (0: no expiry)."
    ),
) -> None:
    """An initial access token for protected registration (dcr_require_initial_access_token); prints JSON."""
    from consentry.services.initial_access_tokens import create_token

    try:
        emit(with_runtime(lambda rt: create_token(rt, uses=uses, expires_in=expires_in)))
    except ValueError as exc:
        fail(str(exc))


@tls_app.command("dev-cert")
def tls_dev_cert(
    out: Annotated[
        Path | None, typer.Option("--out", metavar="DIR", help="Where to write (default: DATA_DIR/tls).")
    ] = None,
    host: Annotated[
        list[str] | None,
        typer.Option("--host", metavar="HOST", help="Another host name or IP to certify (repeatable)."),
    ] = None,
) -> None:
    """A local CA and a certificate for the issuer's host; prints the settings and how clients trust the CA.

    The CA is kept and reused when run again, so clients trust it once. For development only.
    """
    from consentry.tls import certificate_hosts, issue_dev_cert

    cfg = settings()
    try:
        made = issue_dev_cert(out or cfg.data_dir / "tls", certificate_hosts(cfg.issuer_url, host or []))
    except (ValueError, OSError) as exc:
        fail(str(exc).split("\n")[0])
        return
    sys.stdout.write(_dev_cert_text(made, "https://" + cfg.issuer_url.split("://", 1)[1]))


def _dev_cert_text(made: Any, issuer: str) -> str:
    """Shell lines (``eval "$(consentry tls dev-cert)"``): the server's settings, then the clients' trust."""
    from shlex import quote

    ca = quote(str(made.ca_file))
    return "\n".join(
        [
            f"# Certificate for {', '.join(made.hosts)} until {made.not_after:%Y-%m-%d}, signed by the local CA "
            f"{made.ca_file} ({'new' if made.ca_created else 'kept'}). For development only.",
            "# Serve https:",
            f"export CONSENTRY_TLS_CERT_FILE={quote(str(made.cert_file))}",
            f"export CONSENTRY_TLS_KEY_FILE={quote(str(made.key_file))}",
            f"export CONSENTRY_ISSUER={quote(issuer)}",
            "# Trust the CA in the clients: node (adds to its CAs), then Python ssl/httpx and requests (these two",
            "# replace the system CAs for that process):",
            f"export NODE_EXTRA_CA_CERTS={ca}",
            f"export SSL_CERT_FILE={ca}",
            f"export REQUESTS_CA_BUNDLE={ca}",
            "",
        ]
    )


@app.command()
def bench(
    quick: bool = typer.Option(False, "--quick", help="A few seconds per scenario (what CI runs)."),
    duration: float = typer.Option(
        0, "--duration", metavar="SECONDS", min=0, help="Seconds per scenario (default 10, quick 3)."
    ),
    workers: int = typer.Option(2, "--workers", metavar="N", min=1, help="Server worker processes."),
    db: str = typer.Option("both", "--db", metavar="DB", help="sqlite, postgresql or both."),
    postgres_url: str = typer.Option(
        "", "--postgres-url", metavar="URL", help="Use this PostgreSQL instead of a throwaway one."
    ),
    scenario: list[str] = typer.Option([], "--scenario", metavar="NAME", help="Run only these scenarios (repeatable)."),
    scale: bool = typer.Option(False, "--scale", help="Also run with 1M users, 100k clients, 1M user grants."),
    scale_users: int = typer.Option(1_000_000, "--scale-users", metavar="N", min=1),
    scale_clients: int = typer.Option(100_000, "--scale-clients", metavar="N", min=1),
    scale_grants: int = typer.Option(1_000_000, "--scale-grants", metavar="N", min=1),
    connections: int = typer.Option(64, "--connections", metavar="N", min=1, help="wrk connections."),
    output: str = typer.Option(
        "bench/results/latest.json", "--output", metavar="FILE", help="Where to write the JSON report."
    ),
    peers: bool = typer.Option(
        False, "--peers", help="Side by side with node-oidc-provider and django-oauth-toolkit (bench/peers/)."
    ),
    pairs: int = typer.Option(3, "--pairs", metavar="N", min=1, help="With --peers: alternating pairs per peer."),
    blocks: str = typer.Option("", "--blocks", metavar="LIST", help="With --peers: e.g. code,refresh,cc32."),
    signing_alg: str = typer.Option(
        "RS256", "--signing-alg", metavar="ALG", help="The bench APIs' signing_alg: RS256 or ES256 (docs/api.md)."
    ),
) -> None:
    """Benchmark the server: seed, start N workers, drive every scenario, print the table (docs/performance.md)."""
    if peers:
        from consentry.bench.peers import run_peers

        try:
            code = run_peers(duration=duration or 10.0, pairs=pairs, blocks=blocks or None, signing_alg=signing_alg)
        except RuntimeError as exc:
            fail(str(exc))
            return
        if code:
            fail(f"the side-by-side run failed (exit {code}; logs in $TMPDIR/pb-data)")
        return
    from consentry.bench.runner import Options, run
    from consentry.bench.scenarios import BY_NAME
    from consentry.bench.wrk import WrkMissing

    unknown = [s for s in scenario if s not in BY_NAME]
    if unknown:
        fail(f"unknown scenario {unknown[0]} (known: {', '.join(BY_NAME)})")
    if db not in ("sqlite", "postgresql", "both"):
        fail("--db must be sqlite, postgresql or both")
    opts = Options(
        quick=quick,
        duration=duration or (3.0 if quick else 10.0),
        warmup=1.0 if quick else 2.0,
        login_step_flows=10 if quick else 60,
        workers=workers,
        connections=connections,
        postgres_url=postgres_url or None,
        databases=["sqlite", "postgresql"] if db == "both" else [db],
        scale=scale,
        scale_users=scale_users,
        scale_clients=scale_clients,
        scale_grants=scale_grants,
        output=Path(output),
        signing_alg=signing_alg_of(signing_alg),
    )
    if scenario:
        opts.scenarios = list(scenario)
    try:
        report = run(opts)
    except (WrkMissing, RuntimeError) as exc:
        fail(str(exc).split("\n")[0])
        return
    if report["errors"]:
        fail(f"{report['errors']} request(s) failed during the benchmark (see {output})")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
