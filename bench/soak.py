"""Soak: real processes, concurrent clients, SIGKILLs; then every instance's invariants.

    python bench/soak.py [--db postgres|sqlite] [--instances 200] [--clients 24] [--minutes 6]

What it starts (from this checkout, `dialflow` with PYTHONPATH pointing here):

- ``--db postgres`` (default; ``SOAK_DATABASE_URL``, default
  ``postgresql+psycopg://127.0.0.1:5432/test``, in a fresh schema ``soak_<random>`` dropped at
  the end unless ``--keep``): a web farm of two ``dialflow serve`` (ports 5088 and 5089) on one
  schema, one ``dialflow worker`` and one ``dialflow scheduler`` on Redis (``SOAK_REDIS_URL``,
  default ``redis://127.0.0.1:6379/13``, flushed).
- ``--db sqlite``: one ``dialflow serve`` on port 5088 with the embedded background work, on
  a SQLite file in a temporary folder.

It creates an administrator, a process owner and four agents with the CLI, deploys
``bench/diagrams/soak/`` (a call in the agents' lane, a note and a deal written by service
tasks, a parallel split into two user tasks, one of them with a 4 s interrupting timer
boundary whose path writes a note, a message catch, a last note) and creates one customer
per instance. Then ``--clients`` threads drive ``--instances`` instances through the API,
each request on a random server: two agents claim the call at once on both servers, the
winner's completion is sent to both servers at once, the two follow-up tasks of the parallel
split are completed together, each twice at once (three in ten follow-ups are left for the
timer, three in ten completed at the timer's due instant), a confirmation sent before the
instance waits is answered 404 (and recorded), and the confirmation is sent twice at once with
one ``message_id`` once it waits. Meanwhile a chaos thread SIGKILLs a server, the worker or
the scheduler (one at a time, every ``--kill-every`` seconds; SQLite's only server too) and
restarts it. A client whose request died with its server reads the instance again and goes
on from what it finds.

What it checks at the end, for every instance, through the API and the database:

- every HTTP status is counted; no 5xx answer; every 4xx answer has an error code;
- a completed instance has no open work item, no wait and no due time; every READY user
  task of an unfinished instance (``GET …/elements``) has exactly one open work item, and no
  open work item is for a task that is not READY; no two work items of one task;
- CRM writes happened exactly once per service task that ran: per instance one ``Call``
  note, one deal, one ``Done`` note when completed, and one ``Late`` note exactly when the
  follow-up was not completed by a person (none otherwise);
- no instance is stuck: each is completed, or waits with something that can move it (an open
  task, a timer with a due time, a message wait); each unfinished one is also listed;
- the processes' logs hold no traceback (the killed processes' last lines aside).

It prints its counts (instances, requests per status, kills, duration) and each invariant
with its figures, and exits 1 when one fails. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
DIALFLOW = Path(sys.executable).with_name("dialflow")
DIAGRAMS = ROOT / "bench" / "diagrams" / "soak"
PORTS = [5088, 5089]
AGENTS = ["soak_agent1", "soak_agent2", "soak_agent3", "soak_agent4"]


class Farm:
    """The child processes, each in its own session so its pool dies with it."""

    def __init__(self, env: dict[str, str], logs: Path, servers: int, celery: bool) -> None:
        self.env, self.logs = env, logs
        self.children: dict[str, subprocess.Popen] = {}
        self.names = [f"server-{p}" for p in PORTS[:servers]]
        if celery:
            self.names += ["worker", "scheduler"]
        self.kills: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()

    def argv(self, name: str) -> list[str]:
        if name.startswith("server-"):
            return ["serve", "--port", name.removeprefix("server-"), "--threads", "8"]
        if name == "worker":
            return ["worker", "--concurrency", "2"]
        return ["scheduler", "--interval", "0.2", "--claim-seconds", "10"]

    def start(self, name: str) -> None:
        with (self.logs / f"{name}.log").open("ab") as log:
            log.write(f"\n=== started {time.strftime('%H:%M:%S')}\n".encode())
            log.flush()
            self.children[name] = subprocess.Popen(
                [str(DIALFLOW), *self.argv(name)],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if name.startswith("server-"):
            wait_healthy(int(name.removeprefix("server-")))

    def kill(self, name: str) -> None:
        child = self.children[name]
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        with (self.logs / f"{name}.log").open("ab") as log:
            log.write(f"\n=== SIGKILL {time.strftime('%H:%M:%S')}\n".encode())
        self.kills[name] += 1

    def alive_ports(self) -> list[int]:
        return [
            int(n.removeprefix("server-"))
            for n in self.names
            if n.startswith("server-") and self.children.get(n) and self.children[n].poll() is None
        ]

    def stop_all(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in self.children.values():
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait(timeout=20)


def wait_healthy(port: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server on {port} never became healthy")


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(DIALFLOW), *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"dialflow {' '.join(args)} failed: {done.stderr}")
    return done.stdout


class Api:
    """HTTP to a random live server; every answer's status counted."""

    def __init__(self, farm: Farm) -> None:
        self.farm = farm
        self.statuses: collections.Counter[tuple[str, int]] = collections.Counter()
        self.broken: collections.Counter[str] = collections.Counter()  # connections lost
        self.bad: list[str] = []  # 5xx answers, 4xx answers without a code
        self.codes: collections.Counter[tuple[int, str]] = collections.Counter()
        self.lock = threading.Lock()
        self.local = threading.local()

    def client(self) -> httpx.Client:
        if not hasattr(self.local, "client"):
            self.local.client = httpx.Client(timeout=60)
        return self.local.client

    def call(
        self, method: str, path: str, token: str, body: Any = None, port: int | None = None
    ) -> tuple[int, Any] | None:
        """One attempt; None when the connection broke (the server may have been killed)."""
        ports = self.farm.alive_ports() or PORTS[:1]
        port = port if port in ports else random.choice(ports)
        kind = re.sub(r"/[0-9a-f-]{8,}|/\d+", "/{id}", path.split("?")[0])
        try:
            response = self.client().request(
                method,
                f"http://127.0.0.1:{port}{path}",
                headers={"Authorization": f"Bearer {token}"},
                json=body,
            )
        except httpx.HTTPError as exc:
            with self.lock:
                self.broken[type(exc).__name__] += 1
            return None
        try:
            payload = response.json()
        except ValueError:
            payload = response.text
        with self.lock:
            self.statuses[(f"{method} {kind}", response.status_code)] += 1
            if response.status_code >= 400 and isinstance(payload, dict):
                code = (payload.get("error") or {}).get("code")
                self.codes[(response.status_code, str(code))] += 1
            if response.status_code >= 500 or (
                response.status_code >= 400
                and not (isinstance(payload, dict) and payload.get("error", {}).get("code"))
            ):
                self.bad.append(
                    f"{method} {path} on {port}: {response.status_code} {payload!r}"[:600]
                )
        return response.status_code, payload

    def must(self, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
        """Retried while servers are being killed and restarted."""
        for _ in range(200):
            result = self.call(method, path, token, body)
            if result is not None:
                return result
            time.sleep(0.3)
        raise RuntimeError(f"{method} {path}: no server answered")

    def together(self, calls: list[tuple[str, str, str, Any, int | None]]) -> list[Any]:
        """Send the calls at the same moment, each from its own thread."""
        barrier = threading.Barrier(len(calls))
        results: list[Any] = [None] * len(calls)

        def run(i: int, call: tuple[str, str, str, Any, int | None]) -> None:
            barrier.wait()
            results[i] = self.call(*call)

        threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results


class Driver:
    def __init__(self, api: Api, tokens: dict[str, str], deadline: float) -> None:
        self.api, self.tokens, self.deadline = api, tokens, deadline
        self.instances: dict[str, int] = {}  # business key -> instance id
        self.left_for_timer: set[str] = set()
        self.lock = threading.Lock()
        self.errors: list[str] = []

    def start(self, key: str, customer_id: int) -> int:
        token = self.tokens[random.choice(AGENTS)]
        body = {"process_id": "soak_sale", "business_key": key}
        body["data"] = {"customer_id": customer_id, "key": key}
        while True:
            result = self.api.call("POST", "/api/v1/process-instances", token, body)
            if result is not None:
                status, payload = result
                assert status == 201, (status, payload)
                return payload["id"]
            # The server died with the start: it may have committed. Look before starting again.
            status, found = self.api.must(
                "GET", f"/api/v1/process-instances?business_key={key}", self.tokens["soak_admin"]
            )
            if found["items"]:
                return found["items"][0]["id"]

    def drive(self, key: str, customer_id: int) -> None:
        instance_id = self.start(key, customer_id)
        with self.lock:
            self.instances[key] = instance_id
        # The follow-up: done at once, left for its 4 s timer, or completed at its due instant.
        mode = random.choices(["fast", "timer", "race"], weights=[4, 3, 3])[0]
        if mode == "timer":
            self.left_for_timer.add(key)
        admin = self.tokens["soak_admin"]
        early = {"name": "soak_confirm", "business_key": key, "message_id": f"early-{key}"}
        self.api.call("POST", "/api/v1/messages", self.tokens[AGENTS[0]], early)  # 404, recorded
        while time.monotonic() < self.deadline:
            _, seen = self.api.must("GET", f"/api/v1/process-instances/{instance_id}", admin)
            if seen["status"] in ("completed", "terminated", "error"):
                return
            tasks = seen["ready_tasks"]
            if mode != "fast" and any(t["name"] == "followup" for t in tasks):
                followup = next(t for t in tasks if t["name"] == "followup")
                tasks = [t for t in tasks if t["name"] != "followup"]
                if mode == "race" and not tasks:  # the e-mail is done: meet the timer
                    due = datetime.fromisoformat(followup["created_at"]) + timedelta(seconds=4)
                    wait = (due - datetime.now(UTC)).total_seconds() + random.uniform(-0.2, 0.2)
                    time.sleep(max(0.0, wait))
                    tasks = [followup]
            if tasks:
                self.work(tasks)
            elif any(w["kind"] == "message" for w in seen["waiting"]):
                message = {"name": "soak_confirm", "business_key": key, "message_id": f"ok-{key}"}
                a, b = random.sample(AGENTS, 2)
                self.api.together(
                    [
                        ("POST", "/api/v1/messages", self.tokens[a], message, PORTS[0]),
                        ("POST", "/api/v1/messages", self.tokens[b], message, PORTS[1]),
                    ]
                )
            else:
                time.sleep(0.5)

    def work(self, tasks: list[dict[str, Any]]) -> None:
        """Every ready task completed twice at the same moment, once on each server (the call
        claimed first by two agents at once): parallel branches complete together."""
        calls = []
        for task in tasks:
            task_id = task["id"]
            a, b = random.sample(AGENTS, 2)
            url = f"/api/v1/tasks/{task_id}/complete"
            if task["name"] == "call":
                claims = self.api.together(
                    [
                        ("POST", f"/api/v1/tasks/{task_id}/claim", self.tokens[a], {}, PORTS[0]),
                        ("POST", f"/api/v1/tasks/{task_id}/claim", self.tokens[b], {}, PORTS[1]),
                    ]
                )
                winners = [w for w, r in zip((a, b), claims, strict=True) if r and r[0] == 200]
                a = b = winners[0] if winners else (self.holder(task_id) or a)
                data = {"data": {"outcome": random.choice(["interested", "no_answer"])}}
            else:
                data = {"data": {f"{task['name']}_done": True}}
            calls += [
                ("POST", url, self.tokens[a], data, PORTS[0]),
                ("POST", url, self.tokens[b], data, PORTS[1]),
            ]
        self.api.together(calls)

    def holder(self, task_id: str) -> str | None:
        for name in AGENTS:
            result = self.api.call("GET", "/api/v1/tasks?mine=1", self.tokens[name])
            if result and any(t["id"] == task_id for t in result[1].get("items", [])):
                return name
        return None


def chaos(farm: Farm, stop: threading.Event, every: tuple[float, float], log: list[str]) -> None:
    """SIGKILL one process at a time at random moments and start it again (SQLite's only
    server too: its clients wait for it to come back)."""
    while not stop.wait(random.uniform(*every)):
        name = random.choice(farm.names)
        farm.kill(name)
        log.append(f"{time.strftime('%H:%M:%S')} SIGKILL {name}")
        stop.wait(random.uniform(0.5, 2.0))
        farm.start(name)


def check(
    db_url: str, schema: str | None, api: Api, driver: Driver, farm: Farm, logs: Path
) -> list[tuple[str, bool, str]]:
    results: list[tuple[str, bool, str]] = []
    kwargs: dict[str, Any] = {}
    if schema:
        kwargs["connect_args"] = {"options": f"-csearch_path={schema}"}
    engine = create_engine(db_url, **kwargs)
    ids = sorted(driver.instances.values())
    admin = driver.tokens["soak_admin"]
    with engine.connect() as conn:
        rows = {
            r.id: r
            for r in conn.execute(
                text("SELECT id, business_key, status, next_due_at FROM process_instances")
            )
        }
        items = conn.execute(
            text("SELECT id, instance_id, element_id, status FROM work_items")
        ).all()
        waits = conn.execute(text("SELECT instance_id, kind, name, due_at FROM event_waits")).all()
        notes = conn.execute(text("SELECT body, count(*) FROM activities GROUP BY body")).all()
        deals = conn.execute(text("SELECT title, count(*) FROM deals GROUP BY title")).all()
        early = conn.execute(
            text(
                "SELECT status, count(*) FROM received_messages"
                " WHERE message_id LIKE 'early-%' GROUP BY status"
            )
        ).all()
        incidents = conn.execute(
            text("SELECT instance_id, element_id, message FROM incidents WHERE resolved_at IS NULL")
        ).all()
    engine.dispose()

    extra = [
        r for r in rows.values() if r.id not in ids and (r.business_key or "").startswith("soak-")
    ]
    results.append(
        ("one instance per business key (no double start)", not extra, f"{len(extra)} extra")
    )
    statuses = collections.Counter(rows[i].status for i in ids)
    open_items: dict[int, list[str]] = collections.defaultdict(list)
    all_items: dict[int, list[str]] = collections.defaultdict(list)
    for item in items:
        all_items[item.instance_id].append(item.element_id)
        if item.status == "open":
            open_items[item.instance_id].append(item.element_id)
    waits_of: dict[int, list[Any]] = collections.defaultdict(list)
    for wait in waits:
        waits_of[wait.instance_id].append(wait)

    completed_dirty, mismatch, duplicates, stuck = [], [], [], []
    for i in ids:
        row = rows[i]
        counts = collections.Counter(all_items[i])
        if any(n > 1 for n in counts.values()):
            duplicates.append((i, dict(counts)))
        if row.status == "completed":
            if open_items[i] or waits_of[i] or row.next_due_at is not None:
                completed_dirty.append((i, open_items[i], waits_of[i], row.next_due_at))
            continue
        _, elements = api.must("GET", f"/api/v1/process-instances/{i}/elements", admin)
        ready_user = sorted(e for e in elements["ready"] if e in ("call", "email", "followup"))
        if ready_user != sorted(open_items[i]):
            mismatch.append((i, ready_user, sorted(open_items[i])))
        movable = (
            open_items[i]
            or any(w.kind == "timer" and w.due_at is not None for w in waits_of[i])
            or any(w.kind == "message" for w in waits_of[i])
        )
        if not movable:
            stuck.append((i, row.status, elements))
    results.append(
        (
            "completed instances: no open item, wait or due time",
            not completed_dirty,
            f"{len(completed_dirty)} bad {completed_dirty[:3]}",
        )
    )
    results.append(
        (
            "READY user tasks = open work items, one each",
            not mismatch,
            f"{len(mismatch)} bad {mismatch[:3]}",
        )
    )
    results.append(
        ("no task with two work items", not duplicates, f"{len(duplicates)} bad {duplicates[:3]}")
    )
    results.append(("no instance stuck", not stuck, f"{len(stuck)} stuck {stuck[:3]}"))
    results.append(
        ("no open incident", not incidents, f"{len(incidents)} {[tuple(r) for r in incidents[:3]]}")
    )

    note_count = dict(notes)
    deal_count = dict(deals)
    wrong_writes = []
    for key, i in driver.instances.items():
        done = rows[i].status == "completed"
        followed = "followup" in all_items[i] and any(
            it.instance_id == i and it.element_id == "followup" and it.status == "completed"
            for it in items
        )
        late_expected = 1 if done and not followed else None  # unfinished: 0 or 1
        got = (
            note_count.get(f"Call {key}", 0),
            deal_count.get(f"Soak {key}", 0),
            note_count.get(f"Late {key}", 0),
            note_count.get(f"Done {key}", 0),
        )
        started_deal = got[0]
        want_done = 1 if done else 0
        late_ok = got[2] == late_expected if late_expected is not None else got[2] <= 1
        if followed and got[2]:
            late_ok = False
        if not (got[0] <= 1 and got[1] == started_deal and late_ok and got[3] == want_done):
            wrong_writes.append((key, rows[i].status, got, followed))
        if done and got[:2] != (1, 1):
            wrong_writes.append((key, "completed without its call note and deal", got))
    results.append(
        (
            "CRM writes exactly once per service task that ran",
            not wrong_writes,
            f"{len(wrong_writes)} bad {wrong_writes[:5]}",
        )
    )

    answered_404 = api.codes[(404, "no_matching_instance")]
    recorded = dict(early)
    results.append(
        (
            "every unmatched message recorded",
            recorded.get("unmatched", 0) >= answered_404 and set(recorded) <= {"unmatched"},
            f"{answered_404} answered 404, recorded {recorded}",
        )
    )
    fives = [b for b in api.bad if re.search(r": 5\d\d ", b)]
    codeless = [b for b in api.bad if b not in fives]
    results.append(("no 5xx answer", not fives, f"{len(fives)} {fives[:3]}"))
    results.append(
        ("every 4xx answer has an error code", not codeless, f"{len(codeless)} {codeless[:3]}")
    )

    tracebacks = []
    for log in sorted(logs.glob("*.log")):
        text_ = log.read_text(errors="replace")
        for match in re.finditer(
            r"Traceback \(most recent call last\):.*?(?=\n\S|\Z)", text_, re.S
        ):
            tail = text_[match.end() : match.end() + 300].splitlines()[:2]
            tracebacks.append(f"{log.name}: {' | '.join(tail)}")
    results.append(
        ("no traceback in the logs", not tracebacks, f"{len(tracebacks)} {tracebacks[:5]}")
    )
    print(f"instances by status: {dict(statuses)}")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--minutes", type=float, default=6, help="load deadline")
    parser.add_argument("--kill-every", type=float, nargs=2, default=(4.0, 9.0))
    parser.add_argument("--keep", action="store_true", help="keep the schema and the logs")
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="soak-"))
    logs = var / "logs"
    logs.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_SCHEMA", "REDIS_URL")}
    env.update(
        PYTHONPATH=str(ROOT),
        DIALFLOW_VAR_DIR=str(var),
        SECRET_KEY="soak-" + uuid.uuid4().hex,
        LOG_LEVEL="INFO",
        DIALFLOW_ENV="development",
    )
    schema = None
    if args.db == "postgres":
        db_url = os.environ.get("SOAK_DATABASE_URL", "postgresql+psycopg://127.0.0.1:5432/test")
        schema = f"soak_{uuid.uuid4().hex[:8]}"
        redis_url = os.environ.get("SOAK_REDIS_URL", "redis://127.0.0.1:6379/13")
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        env.update(DATABASE_URL=db_url, DATABASE_SCHEMA=schema, REDIS_URL=redis_url)
    else:
        db_url = f"sqlite:///{var}/soak.db"
        env.update(DATABASE_URL=db_url)
    print(f"soak on {args.db}: {args.instances} instances, {args.clients} clients; files in {var}")

    farm = Farm(env, logs, servers=2 if args.db == "postgres" else 1, celery=args.db == "postgres")
    began = time.monotonic()
    try:
        cli(env, "db", "upgrade")
        cli(env, "user", "create", "soak_admin", "--role", "admin", "--password", "soak-password")
        cli(
            env,
            "user",
            "create",
            "soak_owner",
            "--role",
            "process_owner",
            "--password",
            "soak-password",
        )
        for name in AGENTS:
            cli(
                env,
                "user",
                "create",
                name,
                "--role",
                "agent",
                "--team",
                "Soak",
                "--password",
                "soak-password",
            )
        tokens = {
            name: cli(env, "token", "create", name).strip().splitlines()[-1]
            for name in ["soak_admin", "soak_owner", *AGENTS]
        }
        print(cli(env, "deploy", str(DIAGRAMS)).strip())
        for name in farm.names:
            farm.start(name)
        api = Api(farm)
        customers = []
        for n in range(args.instances):
            status, body = api.must(
                "POST",
                "/api/v1/customers",
                tokens["soak_admin"],
                {"name": f"Soak {n}", "phone": f"1390{random.randint(0, 9_999_999):07d}"},
            )
            if status == 409:  # a random phone taken twice
                status, body = api.must(
                    "POST",
                    "/api/v1/customers",
                    tokens["soak_admin"],
                    {"name": f"Soak {n}", "email": f"soak{n}@example.com"},
                )
            assert status == 201, body
            customers.append(body["id"])

        load_began = time.monotonic()
        deadline = load_began + args.minutes * 60
        driver = Driver(api, tokens, deadline)
        stop = threading.Event()
        chaos_log: list[str] = []
        chaos_thread = threading.Thread(
            target=chaos, args=(farm, stop, tuple(args.kill_every), chaos_log), daemon=True
        )
        chaos_thread.start()
        queue = list(enumerate(customers))
        queue_lock = threading.Lock()

        def client() -> None:
            while True:
                with queue_lock:
                    if not queue:
                        return
                    n, customer_id = queue.pop()
                try:
                    driver.drive(f"soak-{n}", customer_id)
                except Exception as exc:  # counted; the soak goes on
                    driver.errors.append(f"soak-{n}: {exc!r}"[:400])

        clients = [threading.Thread(target=client) for _ in range(args.clients)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        stop.set()
        chaos_thread.join()
        for name in farm.names:  # all up for the checks
            if farm.children[name].poll() is not None:
                farm.start(name)
        load_seconds = time.monotonic() - load_began
        results = check(db_url, schema, api, driver, farm, logs)
        requests = sum(api.statuses.values())
        print(f"load {load_seconds:.0f} s, total {time.monotonic() - began:.0f} s")
        print(f"requests answered: {requests}; connections broken by kills: {dict(api.broken)}")
        by_status = collections.Counter()
        for (_kind, status), n in api.statuses.items():
            by_status[status] += n
        print(f"by status: {dict(sorted(by_status.items()))}")
        for (kind, status), n in sorted(api.statuses.items()):
            print(f"  {status} {kind}: {n}")
        print(f"4xx by code: {dict(sorted(api.codes.items()))}")
        print(
            f"kills: {dict(farm.kills)} ({sum(farm.kills.values())});"
            f" follow-ups left for the timer: {len(driver.left_for_timer)}"
        )
        print(f"kill times: {', '.join(chaos_log)}")
        if driver.errors:
            print(f"client errors: {len(driver.errors)} {driver.errors[:5]}")
        failed = bool(driver.errors)
        for name, ok, detail in results:
            print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
            failed |= not ok
        return 1 if failed else 0
    finally:
        farm.stop_all()
        if schema and not args.keep:
            engine = create_engine(db_url)
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            engine.dispose()
        print(
            f"logs in {logs}"
            + ("" if args.keep or schema is None else f"; schema {schema} dropped")
        )


if __name__ == "__main__":
    sys.exit(main())
