"""One settings object, read from the environment and validated at start.

Defaults give the embedded mode: a SQLite file under ``./var/``, background work in-process,
and a secret key generated once and kept in ``./var/secret_key``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from dialflow.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
ENVIRONMENTS = ("development", "production", "test")
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# A host name of the allowance list: letters, digits, hyphens and dots, or "*." and a domain.
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
_HOST_NAME = re.compile(rf"^(?:\*\.)?{_LABEL}(?:\.{_LABEL})*$")


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str | None
    secret_key: str
    environment: str = "development"
    log_level: str = "INFO"
    database_schema: str | None = None
    var_dir: Path = field(default=PROJECT_ROOT / "var")
    bpmn_dir: Path = field(default=PROJECT_ROOT / "bpmn")
    default_region: str = "CN"
    default_timezone: str = "Asia/Shanghai"
    # Shared secret of the telephony webhook (HMAC-SHA256); unset disables the endpoint.
    telephony_secret: str | None = None
    import_max_rows: int = 200_000
    # The most an instance's state may hold after a step, in characters of its stored JSON
    # (its data, about once per branch under way): a step that grows it further is an
    # incident on the task that grew it, and nothing of that step is kept.
    max_instance_state: int = 4 * 1024 * 1024
    # Webhooks out: the time limit of one attempt (connect, send and read the answer together;
    # well under the 60 s claim lease), how long finished deliveries are kept (0: forever),
    # and the internal receivers allowed despite the refusal of internal addresses.
    webhook_attempt_seconds: int = 10
    webhook_retention_days: int = 30
    webhook_allowed_networks: tuple[IPNetwork, ...] = ()
    webhook_allowed_hosts: tuple[str, ...] = ()
    # How long a transaction waits for a lock another holds (SQLite's write lock, a PostgreSQL
    # row or table lock) before it gives up: a request then answers 503 ``database_busy`` with
    # ``Retry-After`` instead of waiting without end behind a stuck transaction.
    lock_wait_seconds: int = 30
    # How long the scripts, conditions and decision cells of one step may run together: a
    # loop still running past it is stopped, an incident on its task (``engine.script_time``).
    script_time_limit: int = 10
    # The longest time to live a message may be sent with (``POST /api/v1/messages``): kept
    # that long for an instance that has not reached its catch yet; 0 keeps none.
    message_ttl_max: int = 86400
    # How long Redis keeps a task a worker took but has not acknowledged (tasks are
    # acknowledged when they end, ``acks_late``) before it hands it to another worker: past
    # the longest task. The longest is an import of the most rows a file may hold
    # (``DIALFLOW_IMPORT_MAX_ROWS``, up to 10,000,000, some 4 hours at 700 rows/s); Redis'
    # own hour would hand a longer one out twice, where the job's lease (``crm.jobs``) is all
    # that stops a second run. A worker killed mid-task loses nothing meanwhile: the
    # scheduler's sweeps hand its job (lease expired) and timers (claim expired) out again.
    broker_visibility_seconds: int = 12 * 3600

    @property
    def embedded(self) -> bool:
        """True when no broker is configured: background work runs inside the web process."""
        return self.redis_url is None

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.database_url).get_backend_name() == "sqlite"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Build and validate settings; every problem is reported at once, clearly."""
        env = dict(os.environ if env is None else env)
        problems: list[str] = []
        var_dir = Path(env.get("DIALFLOW_VAR_DIR") or PROJECT_ROOT / "var")
        environment = env.get("DIALFLOW_ENV", "development").strip().lower()
        if environment not in ENVIRONMENTS:
            problems.append(
                f"DIALFLOW_ENV must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}"
            )

        database_url = _database_url(env.get("DATABASE_URL"), var_dir, problems)
        redis_url = (env.get("REDIS_URL") or "").strip() or None
        if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
            problems.append(
                f"REDIS_URL must start with redis://, rediss:// or unix://, not {redis_url!r}"
            )

        log_level = env.get("LOG_LEVEL", "INFO").strip().upper()
        if log_level not in LOG_LEVELS:
            problems.append(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {log_level!r}")

        region = env.get("DIALFLOW_DEFAULT_REGION", "CN").strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            problems.append(
                f"DIALFLOW_DEFAULT_REGION {region!r} is not a phone region code such as CN"
            )
        timezone = env.get("DIALFLOW_DEFAULT_TIMEZONE", "Asia/Shanghai").strip()
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"DIALFLOW_DEFAULT_TIMEZONE {timezone!r} is not an IANA time zone")

        import_max_rows = 200_000
        raw_max_rows = (env.get("DIALFLOW_IMPORT_MAX_ROWS") or "").strip()
        if raw_max_rows:
            digits = raw_max_rows.isascii() and raw_max_rows.isdigit()
            if digits and 1 <= int(raw_max_rows) <= 10_000_000:
                import_max_rows = int(raw_max_rows)
            else:
                problems.append("DIALFLOW_IMPORT_MAX_ROWS must be a whole number of rows ≥ 1")

        max_instance_state = _whole_number(
            env,
            "DIALFLOW_MAX_INSTANCE_STATE",
            4 * 1024 * 1024,
            64 * 1024,
            1024 * 1024 * 1024,
            "characters from 65536 to 1073741824",
            problems,
        )
        attempt_seconds = _whole_number(
            env, "DIALFLOW_WEBHOOK_ATTEMPT_SECONDS", 10, 1, 30, "seconds from 1 to 30", problems
        )
        retention_days = _whole_number(
            env, "DIALFLOW_WEBHOOK_RETENTION_DAYS", 30, 0, 3650, "days from 0 to 3650", problems
        )
        networks, hosts = _allowed_targets(env.get("DIALFLOW_WEBHOOK_ALLOWED_TARGETS"), problems)
        lock_wait = _whole_number(
            env, "DIALFLOW_LOCK_WAIT_SECONDS", 30, 1, 600, "seconds from 1 to 600", problems
        )
        script_time_limit = _whole_number(
            env, "DIALFLOW_SCRIPT_TIME_LIMIT", 10, 1, 3600, "seconds from 1 to 3600", problems
        )
        message_ttl_max = _whole_number(
            env,
            "DIALFLOW_MESSAGE_TTL_MAX",
            86400,
            0,
            30 * 86400,
            "seconds from 0 to 2592000",
            problems,
        )

        broker_visibility = _whole_number(
            env,
            "DIALFLOW_BROKER_VISIBILITY_SECONDS",
            12 * 3600,
            60,
            7 * 86400,
            "seconds from 60 to 604800",
            problems,
        )

        schema = (env.get("DATABASE_SCHEMA") or "").strip() or None
        if schema and not schema.replace("_", "").isalnum():
            problems.append("DATABASE_SCHEMA may hold only letters, digits and underscores")

        secret_key = (env.get("SECRET_KEY") or "").strip()
        if not secret_key and environment == "production":
            problems.append("SECRET_KEY is required when DIALFLOW_ENV=production")
        elif secret_key and len(secret_key) < 16:
            problems.append("SECRET_KEY must be at least 16 characters long")

        telephony_secret = (env.get("TELEPHONY_SECRET") or "").strip() or None
        if telephony_secret and len(telephony_secret) < 16:
            problems.append("TELEPHONY_SECRET must be at least 16 characters long")

        if problems:
            raise ConfigurationError("Invalid configuration:\n  - " + "\n  - ".join(problems))
        if not secret_key:
            secret_key = _stored_secret_key(var_dir)

        values: dict[str, object] = {
            "database_url": database_url,
            "redis_url": redis_url,
            "secret_key": secret_key,
            "environment": environment,
            "log_level": log_level,
            "database_schema": schema,
            "var_dir": var_dir,
            "bpmn_dir": Path(env.get("DIALFLOW_BPMN_DIR") or PROJECT_ROOT / "bpmn"),
            "default_region": region,
            "default_timezone": timezone,
            "telephony_secret": telephony_secret,
            "import_max_rows": import_max_rows,
            "max_instance_state": max_instance_state,
            "webhook_attempt_seconds": attempt_seconds,
            "webhook_retention_days": retention_days,
            "webhook_allowed_networks": networks,
            "webhook_allowed_hosts": hosts,
            "lock_wait_seconds": lock_wait,
            "script_time_limit": script_time_limit,
            "message_ttl_max": message_ttl_max,
            "broker_visibility_seconds": broker_visibility,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def configure_logging(self) -> None:
        logging.basicConfig(
            level=getattr(logging, self.log_level),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        # SpiffWorkflow logs every task state change at INFO. Its own loggers are set too, not
        # only their parent: it reads ``logger.level`` itself, and below INFO (unset counts)
        # gathers every task of the workflow and its data for each log record.
        spiff_level = max(logging.WARNING, getattr(logging, self.log_level))
        for name in SPIFF_LOGGERS:
            logging.getLogger(name).setLevel(spiff_level)


SPIFF_LOGGERS = ("spiff", "spiff.task", "spiff.workflow", "spiff.data", "spiff.dmn")


def _database_url(raw: str | None, var_dir: Path, problems: list[str]) -> str:
    if not raw or not raw.strip():
        return f"sqlite:///{(var_dir / 'dialflow.db').as_posix()}"
    raw = raw.strip()
    try:
        url: URL = make_url(raw)
    except ArgumentError:
        problems.append(
            "DATABASE_URL is not a database URL (e.g. postgresql://host/db or sqlite:///path)"
        )
        return raw
    if url.drivername == "postgres":  # the common Heroku-style alias
        url = url.set(drivername="postgresql")
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        problems.append(f"DATABASE_URL must name PostgreSQL or SQLite, not {backend!r}")
        return raw
    if backend == "postgresql" and url.drivername in ("postgresql", "postgres"):
        # psycopg 3 is the driver we ship; plain postgresql:// URLs would ask for psycopg2.
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def _whole_number(
    env: dict[str, str],
    name: str,
    default: int,
    low: int,
    high: int,
    unit: str,
    problems: list[str],
) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if raw.isascii() and raw.isdigit() and low <= int(raw) <= high:
        return int(raw)
    problems.append(f"{name} must be a whole number of {unit}, not {raw!r}")
    return default


def _allowed_targets(
    raw: str | None, problems: list[str]
) -> tuple[tuple[IPNetwork, ...], tuple[str, ...]]:
    """``DIALFLOW_WEBHOOK_ALLOWED_TARGETS``: addresses or CIDR ranges (``10.20.0.0/16``,
    ``fd00::/8``) and host names (``hooks.corp.example``, ``*.corp.example``), separated by
    commas or spaces: internal receivers that webhooks may reach."""
    networks: list[IPNetwork] = []
    hosts: list[str] = []
    for entry in (raw or "").replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        name = entry.lower().rstrip(".")
        if name.isascii() and _HOST_NAME.match(name) and not name.replace(".", "").isdigit():
            hosts.append(name)
        else:
            problems.append(
                "DIALFLOW_WEBHOOK_ALLOWED_TARGETS: "
                f"{entry!r} is neither an address, a CIDR range nor a host name"
            )
    return tuple(networks), tuple(hosts)


def _stored_secret_key(var_dir: Path) -> str:
    """Generate the embedded default's secret once and keep it, so sessions survive restarts."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race; use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
