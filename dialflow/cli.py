"""The ``dialflow`` command line. Errors go to stderr with a non-zero exit status."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from dialflow import schema
from dialflow.db import (
    commit_unknown,
    connect_failed,
    connection_lost,
    held_alone,
    lock_failure,
    statement_cancelled,
)
from dialflow.errors import DialflowError
from dialflow.runtime import Runtime

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 1) -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)


BUSY = (
    "the database is busy: another transaction held what this command needs for longer than "
    "DIALFLOW_LOCK_WAIT_SECONDS; nothing was changed, run the command again"
)
CANCELLED = (
    "the database cancelled a statement of this command (past the statement_timeout set for "
    "its role or database, or by an administrator); its transaction was rolled back, run the "
    "command again"
)

LOST = (
    "the connection to the database was lost during the command (the server restarted or went "
    "away, or an administrator ended the session): {detail}; what the command had not "
    "committed was rolled back; once the database is back, run the command again"
)
COMMIT_UNKNOWN = (
    "the connection to the database was lost while the command's changes were being "
    "committed: they may or may not be stored ({detail}); look whether they are there before "
    "running the command again"
)


def reports_errors(command: F | None = None, *, busy: str = BUSY) -> Any:
    """Turn domain and database errors into one clear line on stderr and exit status 1.

    A lock failure is said as ``busy`` whatever carries it: SQLAlchemy's ``OperationalError``,
    the driver's own error (a bulk copy), or a handler's ``HandlerError`` raised from it
    (``dialflow.db.lock_failure`` reads the causes); it went up as a traceback. A statement
    the server cancelled (57014, a ``statement_timeout``) is said as that: it was "cannot
    reach the database", or a traceback when the driver raised it from a bulk copy. A
    connection lost during the command (the server went away, the session was ended) is said
    as that, not as a database that cannot be reached (a connection refused), and lost once
    its COMMIT was sent, as changes that may or may not be stored."""
    if command is None:
        return functools.partial(reports_errors, busy=busy)

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except Exception as exc:
            if lock_failure(exc):
                fail(busy)
            if statement_cancelled(exc):  # an OperationalError too: no "cannot reach"
                fail(CANCELLED)
            if isinstance(exc, DialflowError):
                lines = [exc.message] + [_detail_line(d) for d in exc.details]
                fail("\n".join(lines))
            if connection_lost(exc) and not connect_failed(exc):
                if commit_unknown(exc):
                    fail(COMMIT_UNKNOWN.format(detail=_first_line(exc)))
                fail(LOST.format(detail=_first_line(exc)))
            if isinstance(exc, OperationalError):
                fail(f"cannot reach the database: {_first_line(exc)}")
            if isinstance(exc, ProgrammingError):
                fail(
                    "the database schema is missing or out of date; run `dialflow db upgrade` "
                    f"({str(exc.orig).strip().splitlines()[0]})"
                )
            raise

    return wrapper


def _first_line(exc: BaseException) -> str:
    """The driver's first line of what the database said (or of the error itself)."""
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]


def _detail_line(detail: dict[str, Any]) -> str:
    where = [str(detail[k]) for k in ("file", "field", "element_id") if detail.get(k)]
    if detail.get("line"):
        where.append(f"line {detail['line']}")
    return f"  {' '.join(where) or '-'}: {detail.get('message')}"


def runtime() -> Runtime:
    ctx = click.get_current_context()
    if ctx.obj is None:
        try:
            ctx.obj = Runtime.build()
        except DialflowError as exc:
            fail(exc.message)
        ctx.call_on_close(ctx.obj.close)
    return ctx.obj


def require_schema(rt: Runtime) -> None:
    try:
        up_to_date = schema.is_up_to_date(rt.db.engine)
    except OperationalError as exc:
        fail(f"cannot reach the database: {str(exc.orig).strip().splitlines()[0]}")
    if not up_to_date:
        fail("the database schema is missing or out of date; run `dialflow db upgrade` first")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dialflow")
def main() -> None:
    """Dialflow: a telesales CRM whose processes are BPMN diagrams."""


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@reports_errors
def db_upgrade(revision: str) -> None:
    """Create or migrate the database named by DATABASE_URL."""
    rt = runtime()
    before = schema.current_revision(rt.db.engine)
    schema.upgrade(rt.db.engine, revision, schema=rt.settings.database_schema)
    after = schema.current_revision(rt.db.engine)
    if before == after:
        click.echo(f"database is up to date (revision {after})")
    else:
        click.echo(f"database upgraded: {before or 'empty'} → {after}")


@main.group()
def user() -> None:
    """User accounts."""


@user.command("create")
@click.argument("username")
@click.option("--role", required=True, help="agent, manager, director, process_owner or admin")
@click.option("--password", help="At least 8 characters; asked for when omitted on a terminal.")
@click.option("--team", help="Team name; created when new.")
@click.option("--manager", help="Username of this user's manager.")
@click.option("--display-name", help="Name shown in the UI (defaults to the username).")
@reports_errors
def user_create(
    username: str,
    role: str,
    password: str | None,
    team: str | None,
    manager: str | None,
    display_name: str | None,
) -> None:
    """Create a user."""
    from crm.users import create_user

    rt = runtime()
    require_schema(rt)
    if password is None and sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with rt.db.unit_of_work() as session:
        created = create_user(
            session,
            username=username,
            role=role,
            password=password,
            team=team,
            manager=manager,
            display_name=display_name,
        )
        summary = f"created user {created.username} ({created.role.value})"
    click.echo(summary + ("" if password else "; no password set: API tokens only"))


@main.group()
def token() -> None:
    """API bearer tokens."""


@token.command("create")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="A label for the token.")
@reports_errors
def token_create(username: str, name: str) -> None:
    """Print a new bearer token for USERNAME on the last line."""
    from crm.users import create_token, get_user

    rt = runtime()
    require_schema(rt)
    with rt.db.unit_of_work() as session:
        issued = create_token(session, get_user(session, username), name=name)
    click.echo(f"token for {username} (shown once):", err=True)
    click.echo(issued)


@main.command("seed-demo")
@click.option(
    "--customers",
    "customer_count",
    type=click.IntRange(0, 10_000_000),
    default=2_000,
    show_default=True,
    help="How many customers to add.",
)
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
@click.option("--seed", "rng_seed", type=int, default=7, show_default=True)
@click.option(
    "--leads",
    "lead_count",
    type=click.IntRange(0, 10_000),
    default=24,
    show_default=True,
    help="Leads sent through the shipped processes (calls, callbacks, quotes to approve).",
)
@reports_errors(
    busy="the database is busy: another transaction (another seeder, a running step) held what "
    "the demo needs for longer than DIALFLOW_LOCK_WAIT_SECONDS; the part being seeded was "
    "undone, what this command printed above stays; run the command again"
)
def seed_demo(customer_count: int, if_empty: bool, rng_seed: int, lead_count: int) -> None:
    """Seed demo teams, logins, customers, calls and deals over the past 60 days."""
    rt = runtime()
    require_schema(rt)

    def waiting() -> None:
        click.echo("waiting for another `dialflow seed-demo` on this database to finish", err=True)

    # Two seeders at once (two `make run`s, a deploy's start hook twice) both found no users,
    # or read the same customer count: the demo seeded twice, or failed on the logins.
    with held_alone(rt.db.engine, "dialflow seed-demo", waiting):
        _seed_demo(rt, customer_count, if_empty, rng_seed, lead_count)


def _seed_demo(
    rt: Runtime, customer_count: int, if_empty: bool, rng_seed: int, lead_count: int
) -> None:
    from sqlalchemy import func, select

    from crm import demo
    from crm.models import User

    with rt.db.unit_of_work() as session:
        if if_empty and session.scalar(select(func.count(User.id))):
            click.echo("demo skipped: the database already has users")
            customer_count = 0
        else:
            demo.ensure_demo_users(session)
    if customer_count:
        started = time.perf_counter()
        with click.progressbar(
            length=customer_count, label="customers", file=sys.stderr, show_pos=True, show_eta=True
        ) as bar:
            report = demo.seed_customers(
                rt.db.unit_of_work, customer_count, rng_seed=rng_seed, progress=bar.update
            )
        click.echo(
            f"seeded {report.customers:,} customers, {report.calls:,} calls, "
            f"{report.deals:,} deals, {report.notes:,} notes "
            f"in {time.perf_counter() - started:.1f} s"
        )
    if customer_count and lead_count:
        from processes.demo import seed_process_history, seed_process_work

        work = seed_process_work(rt, lead_count)
        click.echo(
            f"sent {work.leads} leads through the processes: {work.callbacks} callbacks, "
            f"{work.quotes} quotes waiting for approval or approved"
        )
        history = seed_process_history(rt)
        click.echo(f"worked {history} earlier leads through their calls (for the analytics)")
    with rt.db.unit_of_work(read_only=True) as session:
        logins = demo.existing_demo_users(session)
    if logins:
        click.echo(f"\ndemo logins (password: {demo.DEMO_PASSWORD}):")
        for login in logins:
            team = f"  {login.team}" if login.team else ""
            click.echo(f"  {login.username:<10} {login.role.value:<14}{team}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@reports_errors
def deploy(paths: tuple[Path, ...]) -> None:
    """Deploy .bpmn/.dmn/form (.json, .form) files (or folders of them) as one bundle."""
    from engine.bundles import Bundle
    from engine.deployments import deploy as deploy_bundle

    rt = runtime()
    require_schema(rt)
    bundle = Bundle.from_paths(list(paths))
    with rt.db.unit_of_work() as session:
        result = deploy_bundle(rt.engine, session, bundle, actor=None, source="cli")
        versions = ", ".join(f"{v.process_id} v{v.version}" for v in result.versions)
    click.echo(f"{'deployed' if result.created else 'unchanged, already deployed'}: {versions}")
    for warning in result.warnings:  # deployed all the same (lanes nobody matches yet)
        click.echo(f"warning: {warning['message']}", err=True)


def deploy_shipped_models(rt: Runtime) -> None:
    created = rt.deploy_shipped_models()
    if created:
        click.echo(f"deployed shipped models: {', '.join(created)}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=click.IntRange(1, 65535), show_default=True)
@click.option("--threads", default=8, type=click.IntRange(1, 64), show_default=True)
@reports_errors
def serve(host: str, port: int, threads: int) -> None:
    """Serve the web UI and API (waitress; use gunicorn in production if you prefer)."""
    from waitress import serve as waitress_serve

    from web import create_app

    rt = runtime()
    require_schema(rt)
    app = create_app(runtime=rt)  # deploys the shipped models
    if rt.settings.embedded:
        from dialflow.background import JobSweeper, TimerLoop, WebhookSender

        TimerLoop(rt).start_thread()
        JobSweeper(rt).start_thread()  # resumes imports a stopped process left unfinished
        WebhookSender(rt).start_thread()  # posts webhook deliveries after their commit
    mode = "embedded (background work in this process)" if rt.settings.embedded else "Redis"
    click.echo(
        f"Dialflow on http://{host}:{port}  database: {rt.db.engine.url.get_backend_name()}"
        f"  background: {mode}"
    )
    try:
        waitress_serve(app, host=host, port=port, threads=threads, ident="dialflow")
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


@main.command()
@click.option("--concurrency", default=2, type=click.IntRange(1, 64), show_default=True)
@click.option("--queues", default=None, help="Comma-separated queues (default: all).")
@reports_errors
def worker(concurrency: int, queues: str | None) -> None:
    """Run a Celery worker for background work (needs REDIS_URL)."""
    from dialflow.background import run_worker

    rt = runtime()
    if rt.settings.embedded:
        fail(
            "REDIS_URL is not set: without a broker, background work runs inside "
            "`dialflow serve`; set REDIS_URL to run separate workers"
        )
    require_schema(rt)
    deploy_shipped_models(rt)
    argv = [
        "worker",
        f"--concurrency={concurrency}",
        f"--loglevel={rt.settings.log_level}",
        "--queues=" + (queues or "default,timers,messages,imports,webhooks"),
    ]
    run_worker(rt, argv)


@main.command()
@click.option(
    "--interval",
    default=0.5,
    type=click.FloatRange(0.05, 60),
    show_default=True,
    help="Seconds between passes when nothing is due.",
)
@click.option(
    "--claim-seconds",
    default=30.0,
    type=click.FloatRange(1, 3600),
    show_default=True,
    help="How long a dispatched instance stays claimed; a dead worker's are sent out again.",
)
@reports_errors
def scheduler(interval: float, claim_seconds: float) -> None:
    """Hand due timers to workers (needs REDIS_URL); run exactly one."""
    from datetime import timedelta

    from dialflow.background import (
        TimerLoop,
        celery_app,
        celery_dispatcher,
        signal_dispatcher,
    )

    rt = runtime()
    if rt.settings.embedded:
        fail(
            "REDIS_URL is not set: without a broker, the scheduler runs inside "
            "`dialflow serve`; set REDIS_URL to run it separately"
        )
    require_schema(rt)
    app = celery_app(rt)
    loop = TimerLoop(
        rt,
        interval,
        dispatch=celery_dispatcher(app),
        claim_for=timedelta(seconds=claim_seconds),
        dispatch_signals=signal_dispatcher(app),
    )
    from dialflow.background import JobSweeper, WebhookSweeper

    JobSweeper(rt).start_thread()  # re-dispatches imports whose worker died
    WebhookSweeper(rt).start_thread()  # queues due webhook deliveries and retries
    click.echo(f"scheduler: checking due timers every {interval:g} s")
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        loop.stopped.set()


if __name__ == "__main__":
    main()
