"""Read paths at scale through HTTP: inbox, customer search, customer 360, on PostgreSQL.

    python bench/web.py --setup          # once (~5 min): builds the data, skips what is there
    python bench/web.py [--requests 200] [--only TEXT] [--verbose]   # measures
    python bench/web.py --drop           # removes the bench schema

A measuring run adds only what using the app adds (sign-in and view audit entries) and
API tokens that it deletes at the end.

Data (schema ``bench_web`` of ``BENCH_DATABASE_URL``, default
postgresql+psycopg://127.0.0.1:5432/test): 1,000,000 customers from ``dialflow seed-demo``
(with their calls, deals and notes), 20 teams of 10 agents with a manager each, and 100,000
open work items with candidates. The work items are **read-path data**: they are written
straight into ``process_instances`` / ``work_items`` / ``work_item_candidates`` with a
placeholder instance each (state ``{}``), because this measures the inbox and customer reads,
not the engine's throughput (``bench/engine.py`` does that).

The measured server is the real ``dialflow serve`` (waitress, 8 threads) in a subprocess;
the client is one keep-alive HTTP/1.1 connection (``http.client``), requests one after
another. Each endpoint is warmed up, then timed ``--requests`` times with varying users and
arguments. The baseline measured in the same run is the ``/healthz`` round trip (the fixed
cost of HTTP + WSGI + Flask); the ratio column is p50 / baseline p50. Targets: API reads
and the customer 360 page ≤ 50 ms p95, the inbox page (200 rows) ≤ 150 ms p95.

Rows: ``/api/v1/tasks?mine=1`` and ``?candidate=1`` for 40 random agents; customer search as
agents and managers by name fragment (two characters of real names), phone in three formats,
email, the last four digits, and the list without a search; ``/api/v1/customers/{id}`` and
its ``/timeline``; the ``/customers/{id}`` page and ``/inbox`` for 10 signed-in agents.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, insert, select, text

from dialflow.settings import Settings

SCHEMA = "bench_web"
TEAMS = 20
AGENTS_PER_TEAM = 10
PASSWORD = "dialflow-demo"
CALL_FORM = ROOT / "bpmn" / "call-disposition.json"
DIALFLOW = Path(sys.executable).parent / "dialflow"


def environment(url: str, schema: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        DATABASE_SCHEMA=schema,
        SECRET_KEY="bench-web-secret-key-0123456789",
        LOG_LEVEL="WARNING",
    )
    return env


def settings_for(url: str, schema: str) -> Settings:
    return Settings.from_env(environment(url, schema))


# --------------------------------------------------------------------------- setup


def setup(url: str, schema: str, customers: int, work_items: int) -> None:
    from crm.models import Customer
    from dialflow.runtime import Runtime

    env = environment(url, schema)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    engine.dispose()
    subprocess.run([str(DIALFLOW), "db", "upgrade"], env=env, check=True)
    rt = Runtime.build(settings_for(url, schema))
    try:
        _ensure_users(rt)
        with rt.db.unit_of_work(read_only=True) as session:
            have = session.scalar(select(func.count(Customer.id))) or 0
        if have < customers:
            print(f"seeding {customers - have:,} customers (dialflow seed-demo)…", flush=True)
            subprocess.run(
                [str(DIALFLOW), "seed-demo", "--customers", str(customers - have), "--leads", "0"],
                env=env,
                check=True,
            )
        _ensure_work_items(rt, work_items)
        # What autovacuum does to a table at rest: statistics and the visibility map (which
        # lets index-only scans skip the table), so that the first run measures steady state.
        with rt.db.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            for table in (
                "customers",
                "customer_phones",
                "customer_tags",
                "calls",
                "activities",
                "deals",
                "deal_stage_changes",
                "users",
                "work_items",
                "work_item_candidates",
            ):
                connection.execute(text(f"VACUUM ANALYZE {table}"))
    finally:
        rt.close()


def _ensure_users(rt) -> None:  # type: ignore[no-untyped-def]
    """20 teams, a manager each under ``director``, 10 agents per team; one argon2 hash."""
    from crm import demo
    from crm.models import Role, Team, User
    from crm.users import hash_password

    with rt.db.unit_of_work() as session:
        demo.ensure_demo_users(session)
        if session.scalar(select(User.id).where(User.username == "bagent001")):
            return
        print(f"creating {TEAMS} teams, {TEAMS * AGENTS_PER_TEAM} agents…", flush=True)
        password_hash = hash_password(PASSWORD)
        director = session.scalar(select(User.id).where(User.username == "director"))
        team_ids = []
        for t in range(1, TEAMS + 1):
            team = Team(name=f"电销{t:02d}组")
            session.add(team)
            session.flush()
            team_ids.append(team.id)
        managers = []
        for t, team_id in enumerate(team_ids, start=1):
            manager = User(
                username=f"bmgr{t:02d}",
                display_name=f"主管{t:02d}",
                role=Role.MANAGER,
                team_id=team_id,
                manager_id=director,
                password_hash=password_hash,
                active=True,
            )
            session.add(manager)
            managers.append(manager)
        session.flush()
        rows = []
        for t, (team_id, manager) in enumerate(zip(team_ids, managers, strict=True)):
            for a in range(AGENTS_PER_TEAM):
                n = t * AGENTS_PER_TEAM + a + 1
                rows.append(
                    {
                        "username": f"bagent{n:03d}",
                        "username_key": f"bagent{n:03d}",
                        "display_name": f"坐席{n:03d}",
                        "role": Role.AGENT,
                        "team_id": team_id,
                        "manager_id": manager.id,
                        "password_hash": password_hash,
                        "active": True,
                    }
                )
        session.execute(insert(User), rows)


def _ensure_work_items(rt, count: int) -> None:  # type: ignore[no-untyped-def]
    """Open work items on customers owned by agents: assigned calls and callbacks, team
    claimables, named candidates and a few for every agent (role lane)."""
    import json

    from crm.models import Customer, Role, Team, User
    from dialflow.bulk import bulk_insert, reserve_ids
    from dialflow.db import utcnow
    from engine.models import ProcessInstance, ProcessVersion, WorkItem, WorkItemCandidate

    with rt.db.unit_of_work(read_only=True) as session:
        have = session.scalar(select(func.count(WorkItem.id))) or 0
    if have >= count:
        return
    rt.deploy_shipped_models()
    form = json.loads(CALL_FORM.read_text())
    rng = random.Random(11)
    now = utcnow()
    print(f"inserting {count:,} open work items…", flush=True)
    with rt.db.unit_of_work() as session:
        version_id = session.scalar(
            select(ProcessVersion.id)
            .where(ProcessVersion.process_id == "call_cadence")
            .order_by(ProcessVersion.version.desc())
            .limit(1)
        )
        agents = {
            uid: (username, team)
            for uid, username, team in session.execute(
                select(User.id, User.username, Team.name)
                .join(Team, User.team_id == Team.id)
                .where(User.role == Role.AGENT)
            )
        }
        by_team: dict[str, list[str]] = {}
        for username, team in agents.values():
            by_team.setdefault(team, []).append(username)
        owned = session.execute(
            select(Customer.id, Customer.owner_id)
            .where(Customer.owner_id.in_(list(agents)))
            .order_by(func.random())
            .limit(count)
        ).all()
        instance_ids = reserve_ids(session, ProcessInstance.__table__, len(owned))
        instances, items, candidates = [], [], []
        for instance_id, (customer_id, owner_id) in zip(instance_ids, owned, strict=True):
            username, team = agents[owner_id]
            roll = rng.random()
            kind, element, title = "call", "call", "Call the customer"
            assignee = None
            names = [f"group:{team}"]
            if roll < 0.55:
                assignee = owner_id
                names = [f"user:{username}"]
            elif roll < 0.70:
                assignee = owner_id
                kind, title = "callback", "Call back the customer"
                names = [f"user:{username}"]
            elif roll < 0.93:
                pass  # the team's claimable pool
            elif roll < 0.99:
                names = [f"user:{u}" for u in rng.sample(by_team[team], 3)]
            else:
                names = ["group:agent"]
            due = None if rng.random() < 0.1 else now + timedelta(hours=rng.uniform(-240, 480))
            created = now - timedelta(hours=rng.uniform(1, 24 * 30))
            key = str(customer_id)
            instances.append(
                {
                    "id": instance_id,
                    "process_id": "call_cadence",
                    "version_id": version_id,
                    "business_key": key,
                    "status": "running",
                    "state": "{}",
                    "data": json.dumps({"customer_id": customer_id}),
                    "waiting": "[]",
                    "started_at": created,
                    "updated_at": created,
                    "step_count": 1,
                    "lock_version": 1,
                }
            )
            item_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            items.append(
                {
                    "id": item_id,
                    "instance_id": instance_id,
                    "process_id": "call_cadence",
                    "element_id": element,
                    "title": title,
                    "lane": None,
                    "business_key": key,
                    "status": "open",
                    "assignee_id": assignee,
                    "due_at": due,
                    "priority": rng.choice((0, 0, 0, 1, 2)),
                    "kind": kind,
                    "form_name": "call-disposition.json",
                    "form_schema": json.dumps(form),
                    "instructions": None,
                    "created_at": created,
                    "claimed_at": created if assignee else None,
                    "claimed_by_id": assignee,
                }
            )
            candidates += [{"work_item_id": item_id, "name": name} for name in names]
        bulk_insert(session, ProcessInstance.__table__, instances)
        bulk_insert(session, WorkItem.__table__, items)
        bulk_insert(session, WorkItemCandidate.__table__, candidates)
    print(f"  {len(items):,} work items, {len(candidates):,} candidates", flush=True)


def drop(url: str, schema: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()
    print(f"dropped schema {schema}")


# --------------------------------------------------------------------------- measuring


class Client:
    """One keep-alive HTTP/1.1 connection with a cookie jar (enough for Flask's session)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> tuple[int, bytes]:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, data

    def sign_in(self, username: str) -> None:
        status, page = self.request("GET", "/login")
        found = re.search(rb'name="csrf_token" value="([^"]+)"', page)
        if status != 200 or not found:
            raise SystemExit(f"GET /login answered {status} without a CSRF token")
        form = urllib.parse.urlencode(
            {"csrf_token": found.group(1).decode(), "username": username, "password": PASSWORD}
        ).encode()
        status, _ = self.request(
            "POST",
            "/login",
            body=form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        if status != 302:
            raise SystemExit(f"signing in as {username} answered {status}")

    def close(self) -> None:
        self.connection.close()


@dataclass
class Case:
    name: str
    target_ms: float | None
    next_request: Callable[[], tuple[Client, str, dict[str, str]]]
    slowest: str = ""


@dataclass
class Fixtures:
    """Who asks what: tokens and signed-in clients of agents and managers, and the customers,
    phones, emails and name fragments they look for."""

    agent_tokens: list[tuple[str, int]]  # (token, user id)
    manager_tokens: list[tuple[str, int]]
    owned: dict[int, list[tuple[int, str, str | None, str]]]  # user id → customers
    team_of_manager: dict[int, list[tuple[int, str, str | None, str]]]
    fragments: list[str]
    token_ids: list[int]
    usernames: dict[int, str]


def fixtures(url: str, schema: str, agents: int, managers: int) -> Fixtures:
    """Tokens for a sample of bench agents and managers, and customers each of them may see."""
    from crm.models import ApiToken, Customer, CustomerPhone, User
    from crm.users import create_token
    from dialflow.runtime import Runtime

    rng = random.Random(5)
    rt = Runtime.build(settings_for(url, schema))
    try:
        with rt.db.unit_of_work() as session:
            agent_users = session.scalars(
                select(User).where(User.username.like("bagent%")).order_by(User.id)
            ).all()
            manager_users = session.scalars(
                select(User).where(User.username.like("bmgr%")).order_by(User.id)
            ).all()
            if not agent_users:
                raise SystemExit("no bench data: run `python bench/web.py --setup` first")
            chosen_agents = rng.sample(list(agent_users), agents)
            chosen_managers = rng.sample(list(manager_users), managers)
            agent_tokens = [(create_token(session, u, "bench-web"), u.id) for u in chosen_agents]
            manager_tokens = [
                (create_token(session, u, "bench-web"), u.id) for u in chosen_managers
            ]
            session.flush()
            token_ids = list(
                session.scalars(select(ApiToken.id).where(ApiToken.name == "bench-web"))
            )

            def customers_of(condition) -> list[tuple[int, str, str | None, str]]:  # type: ignore[no-untyped-def]
                rows = session.execute(
                    select(Customer.id, Customer.name, Customer.email, CustomerPhone.e164)
                    .join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
                    .where(condition, CustomerPhone.position == 0)
                    .limit(60)
                ).all()
                return [tuple(r) for r in rows]  # type: ignore[misc]

            owned = {u.id: customers_of(Customer.owner_id == u.id) for u in chosen_agents}
            team = {u.id: customers_of(Customer.team_id == u.team_id) for u in chosen_managers}
            names = [c[1] for rows in owned.values() for c in rows]
            fragments = sorted({n[:2] for n in names if len(n) >= 2} | {n[-2:] for n in names})
            usernames = {u.id: u.username for u in [*chosen_agents, *chosen_managers]}
        return Fixtures(agent_tokens, manager_tokens, owned, team, fragments, token_ids, usernames)
    finally:
        rt.close()


def drop_tokens(url: str, schema: str, token_ids: list[int]) -> None:
    from crm.models import ApiToken
    from dialflow.runtime import Runtime

    rt = Runtime.build(settings_for(url, schema))
    try:
        with rt.db.unit_of_work() as session:
            session.query(ApiToken).filter(ApiToken.id.in_(token_ids)).delete()
    finally:
        rt.close()


def phone_formats(e164: str) -> list[str]:
    """+8613812345678 as people type it: 13812345678, +86 138 1234 5678, 138-1234-5678."""
    national = e164.removeprefix("+86")
    return [
        national,
        f"+86 {national[:3]} {national[3:7]} {national[7:]}",
        f"{national[:3]}-{national[3:7]}-{national[7:]}",
    ]


def build_cases(port: int, data: Fixtures, signed_in: int, seed: int = 3) -> list[Case]:
    rng = random.Random(seed)
    api = Client(port)
    bearer = lambda token: {"Authorization": f"Bearer {token}"}  # noqa: E731
    agents = data.agent_tokens
    everyone = agents + data.manager_tokens

    def visible(user_id: int) -> list[tuple[int, str, str | None, str]]:
        return data.owned.get(user_id) or data.team_of_manager[user_id]

    pages = []
    for _token, user_id in agents[:signed_in]:
        client = Client(port)
        client.sign_in(data.usernames[user_id])
        pages.append((client, user_id))

    def healthz() -> tuple[Client, str, dict[str, str]]:
        return api, "/healthz", {}

    def tasks(flag: str) -> Callable[[], tuple[Client, str, dict[str, str]]]:
        def make() -> tuple[Client, str, dict[str, str]]:
            token, _ = rng.choice(agents)
            return api, f"/api/v1/tasks?{flag}=1", bearer(token)

        return make

    def search(kind: str) -> Callable[[], tuple[Client, str, dict[str, str]]]:
        def make() -> tuple[Client, str, dict[str, str]]:
            token, user_id = rng.choice(everyone)
            customer = rng.choice(visible(user_id))
            if kind == "name":
                q = rng.choice(data.fragments)
            elif kind == "phone":
                q = rng.choice(phone_formats(customer[3]))
            elif kind == "email":
                with_email = [c for c in visible(user_id) if c[2]]
                q = rng.choice(with_email)[2] if with_email else customer[1]
            elif kind == "digits":  # the last four digits read out on the phone
                q = customer[3][-4:]
            else:  # the list without a search, newest first
                return api, "/api/v1/customers", bearer(token)
            return api, "/api/v1/customers?" + urllib.parse.urlencode({"q": q}), bearer(token)

        return make

    def customer_api(suffix: str) -> Callable[[], tuple[Client, str, dict[str, str]]]:
        def make() -> tuple[Client, str, dict[str, str]]:
            token, user_id = rng.choice(everyone)
            customer = rng.choice(visible(user_id))
            return api, f"/api/v1/customers/{customer[0]}{suffix}", bearer(token)

        return make

    def customer_page() -> tuple[Client, str, dict[str, str]]:
        client, user_id = rng.choice(pages)
        return client, f"/customers/{rng.choice(visible(user_id))[0]}", {}

    def inbox_page() -> tuple[Client, str, dict[str, str]]:
        client, _ = rng.choice(pages)
        return client, "/inbox", {}

    return [
        Case("GET /healthz (baseline)", None, healthz),
        Case("GET /api/v1/tasks?mine=1", 50, tasks("mine")),
        Case("GET /api/v1/tasks?candidate=1", 50, tasks("candidate")),
        Case("GET /api/v1/customers (no q)", 50, search("list")),
        Case("GET /api/v1/customers?q=<name>", 50, search("name")),
        Case("GET /api/v1/customers?q=<phone>", 50, search("phone")),
        Case("GET /api/v1/customers?q=<email>", 50, search("email")),
        Case("GET /api/v1/customers?q=<last 4 digits>", 50, search("digits")),
        Case("GET /api/v1/customers/{id}", 50, customer_api("")),
        Case("GET /api/v1/customers/{id}/timeline", 50, customer_api("/timeline")),
        Case("GET /customers/{id} (360 page)", 50, customer_page),
        Case("GET /inbox (page)", 150, inbox_page),
    ]


def measure(case: Case, warmup: int, count: int) -> list[float]:
    timings: list[float] = []
    for i in range(warmup + count):
        client, path, headers = case.next_request()
        started = time.perf_counter()
        try:
            status, body = client.request("GET", path, headers=headers)
        except (http.client.HTTPException, ConnectionError):
            # The server closed an idle keep-alive connection: reconnect, time the retry.
            client.connection.close()
            started = time.perf_counter()
            status, body = client.request("GET", path, headers=headers)
        elapsed = time.perf_counter() - started
        if status != 200:
            raise SystemExit(f"{path} answered {status}: {body[:300]!r}")
        if i >= warmup:
            timings.append(elapsed * 1000)
            if elapsed * 1000 >= max(timings):
                case.slowest = path
    return timings


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def start_server(url: str, schema: str, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [str(DIALFLOW), "serve", "--port", str(port)],
        env=environment(url, schema),
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("dialflow serve stopped")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("dialflow serve did not start within 60 s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(
    url: str, schema: str, count: int, warmup: int, port: int, only: str | None, verbose: bool
) -> None:
    from dialflow.runtime import Runtime

    rt = Runtime.build(settings_for(url, schema))
    try:
        with rt.db.unit_of_work(read_only=True) as session:
            sizes = {
                table: session.scalar(text(f"SELECT count(*) FROM {table}"))
                for table in ("customers", "work_items", "work_item_candidates", "users")
            }
    finally:
        rt.close()
    print(", ".join(f"{t}: {n:,}" for t, n in sizes.items()))
    data = fixtures(url, schema, agents=40, managers=8)
    port = port or free_port()
    server = start_server(url, schema, port)
    try:
        cases = build_cases(port, data, signed_in=10)
        load = os.getloadavg()[0]
        print(
            f"load average before: {load:.2f} (2 cores); {count} requests per row, {warmup} warm-up"
        )
        results = []
        for case in cases:
            if only and only not in case.name and case.target_ms is not None:
                continue
            results.append((case, measure(case, warmup, count)))
        baseline = statistics.median(results[0][1])
        print(f"load average after: {os.getloadavg()[0]:.2f}\n")
        header = (
            f"{'endpoint':<42} {'p50':>7} {'p95':>7} {'max':>7} {'×base':>6} {'target':>7}  met?"
        )
        print(header)
        print("-" * len(header))
        for case, timings in results:
            p50, p95 = percentile(timings, 50), percentile(timings, 95)
            target = f"{case.target_ms:.0f}" if case.target_ms else "-"
            met = "-" if case.target_ms is None else ("yes" if p95 <= case.target_ms else "NO")
            print(
                f"{case.name:<42} {p50:7.1f} {p95:7.1f} {max(timings):7.1f} "
                f"{p50 / baseline:6.1f} {target:>7}  {met}"
            )
        print("\n(ms, p95 target; ×base = p50 / the /healthz p50 of this run)")
        if verbose:
            print("\nslowest request of each row:")
            for case, _timings in results:
                print(f"  {urllib.parse.unquote(case.slowest)}")
    finally:
        server.terminate()
        server.wait(10)
        drop_tokens(url, schema, data.token_ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://127.0.0.1:5432/test"),
    )
    parser.add_argument("--schema", default=SCHEMA)
    parser.add_argument("--setup", action="store_true", help="build the data (skips what exists)")
    parser.add_argument("--drop", action="store_true", help="drop the bench schema and stop")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--work-items", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--port", type=int, default=0, help="0 = a free port")
    parser.add_argument("--only", help="measure only rows whose name contains this")
    parser.add_argument("--verbose", action="store_true", help="print each row's slowest request")
    args = parser.parse_args()
    if args.drop:
        drop(args.postgres, args.schema)
        return
    if args.setup:
        started = time.perf_counter()
        setup(args.postgres, args.schema, args.customers, args.work_items)
        print(f"setup done in {time.perf_counter() - started:.0f} s")
        return
    run(args.postgres, args.schema, args.requests, args.warmup, args.port, args.only, args.verbose)


if __name__ == "__main__":
    main()
