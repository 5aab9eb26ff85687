"""Property-based fuzzing of the whole HTTP API from its own OpenAPI document (schemathesis).

Shared by the bounded suite test (``tests/web/test_api_fuzz.py``) and the exploration runner
(``bench/fuzz_api.py``). The app runs in process (WSGI) on a database seeded like the demo:
the demo's logins, a few dozen customers with calls, deals and notes, and leads sent through the
shipped processes, so instances, work items, deals and process versions exist. Each generated
request goes out with the bearer token of one of the demo's roles, and its path parameters are
random ones or, as often, ids that exist.

Every answer is checked by schemathesis (no 5xx, status code, content type, headers and body
as documented; an operation that needs a token refuses a request without one) and by the API's
own contract: no traceback in a body, every 4xx is ``{"error": {"code", "message",
"details"}}`` with a snake_case code.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi import checks as openapi_checks
from sqlalchemy import select

from crm import demo
from crm.imports import run_import, submit_import
from crm.models import (
    Call,
    Customer,
    Deal,
    Job,
    Team,
    User,
    WebhookDelivery,
    WebhookSubscription,
)
from crm.users import create_token, create_user
from crm.webhooks.subscriptions import create_subscription, send_test
from dialflow.db import Base
from dialflow.runtime import Runtime
from engine.models import ProcessInstance, ProcessVersion, WorkItem
from processes import settings as settings_catalog

OPENAPI = "/api/v1/openapi.json"
CODE = re.compile(r"^[a-z][a-z0-9_]*$")
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\.py\", line \d+")
TELEPHONY = "/api/v1/telephony/events"
SIGNATURE = "X-Dialflow-Signature"
ROLES = ("admin", "owner", "director", "manager1", "agent1")


@dataclass
class Known:
    """What exists in the seeded database: bearer tokens per login, ids per path parameter."""

    tokens: dict[str, str]
    ids: dict[str, list[Any]]
    telephony_secret: str | None = None


@dataclass
class Failure:
    operation: str
    check: str
    status: int | None
    message: str
    request: str

    @property
    def key(self) -> tuple[str, str, int | None, str]:
        first = (self.message.strip().splitlines() or [""])[0]
        return (self.operation, self.check, self.status, first[:160])


@dataclass
class Report:
    operations: int = 0
    examples: int = 0
    seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    by_operation: dict[str, dict[int, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    failures: dict[tuple, Failure] = field(default_factory=dict)

    def add(self, failure: Failure) -> None:
        kept = self.failures.get(failure.key)
        if kept is None or len(failure.request) < len(kept.request):
            self.failures[failure.key] = failure

    def statuses_per_operation(self) -> str:
        return "\n".join(
            f"  {label}: " + ", ".join(f"{status}: {n}" for status, n in sorted(counts.items()))
            for label, counts in self.by_operation.items()
        )

    def describe(self) -> str:
        lines = [
            f"{self.operations} operations, {self.examples} requests in {self.seconds:.1f} s; "
            "statuses "
            + ", ".join(f"{status}: {n}" for status, n in sorted(self.statuses.items())),
            *self.notes,
            f"{len(self.failures)} distinct failures",
        ]
        for failure in sorted(self.failures.values(), key=lambda f: f.key):
            lines.append(
                f"- {failure.operation} [{failure.check}] {failure.status}: "
                f"{failure.message.strip()[:600]}\n    {failure.request[:600]}"
            )
        return "\n".join(lines)


# -- the database -----------------------------------------------------------------------------


def seed(rt: Runtime, *, customers: int = 40, leads: int = 3) -> Known:
    """The demo's logins (without passwords: argon2 would cost seconds), ``customers`` demo
    customers with their calls, deals and notes, ``leads`` leads through the shipped processes."""
    from processes.demo import seed_process_work

    rt.deploy_shipped_models()
    tokens: dict[str, str] = {}
    with rt.db.unit_of_work() as session:
        users = {u.username: u for u in session.scalars(select(User))}
        for login in demo.DEMO_USERS:
            if login.username not in users:
                users[login.username] = create_user(
                    session,
                    username=login.username,
                    role=login.role,
                    display_name=login.display_name,
                    team=login.team,
                    manager=login.manager,
                )
            if login.username in ROLES:
                tokens[login.username] = create_token(session, users[login.username], name="fuzz")
        # An import with a created row, a duplicate and an error, so its progress and error
        # report are read by id.
        job = submit_import(
            session,
            actor=users["admin"],
            file_name="客户.csv",
            data="姓名,手机\n王小明,13800138000\n王小明,13800138000\n李四,12\n".encode(),
            max_rows=100,
        )
        # A webhook subscription with a delivery (no sender runs here: nothing is sent).
        subscription, _secret = create_subscription(
            session,
            {"url": "https://hooks.example.com/dialflow", "event_types": ["deal.won"]},
            actor=users["admin"],
        )
        session.flush()
        send_test(session, subscription.id, actor=users["admin"])
    run_import(rt.db, job.id)
    if customers:
        demo.seed_customers(rt.db.unit_of_work, customers)
        if leads:
            seed_process_work(rt, leads)
    return Known(tokens=tokens, ids=known_ids(rt), telephony_secret=rt.settings.telephony_secret)


def known_ids(rt: Runtime) -> dict[str, list[Any]]:
    """Existing ids by the path parameter that names them (a few of each)."""
    with rt.db.unit_of_work(read_only=True) as session:

        def first(column: Any, n: int = 6) -> list[Any]:
            return list(session.scalars(select(column).order_by(column).limit(n)))

        versions = session.execute(
            select(ProcessVersion.process_id, ProcessVersion.version).order_by(
                ProcessVersion.process_id, ProcessVersion.version
            )
        ).all()
        return {
            "customer_id": first(Customer.id),
            "deal_id": first(Deal.id),
            "call_id": first(Call.id),
            "instance_id": first(ProcessInstance.id),
            "task_id": [str(i) for i in first(WorkItem.id, 10)],
            "process_id": sorted({process_id for process_id, _ in versions}),
            "version": sorted({version for _, version in versions}),
            "job_id": first(Job.id),
            "subscription_id": first(WebhookSubscription.id),
            "delivery_id": first(WebhookDelivery.id),
            "key": sorted(settings_catalog.DEFINITIONS),
            "team_id": first(Team.id),
            "user": first(User.username, 20),
        }


# Body fields that name something by the id (or name) of a path parameter's pool.
BODY_FIELDS = {
    "customer_id": "customer_id",
    "deal_id": "deal_id",
    "process_id": "process_id",
    "version": "version",
    "to_version": "version",
    "team_id": "team_id",
    "user": "user",
    "owner": "user",
    "agent": "user",
}


# -- the schema and the requests ------------------------------------------------------------


def load_schema(app: Flask) -> Any:
    """The app's own document. The bearer token is not generated (each request carries a real
    one; the ``ignored_auth`` check sends it again without), so invalid data goes to the
    parameters and bodies rather than mostly to the ``Authorization`` header."""
    schema = schemathesis.openapi.from_wsgi(OPENAPI, app)
    schema.config.generation.update(with_security_parameters=False)
    return schema


def operations(schema: Any, only: str | None = None) -> list[Any]:
    """The document's operations, those that delete last (an erasure or a deleted webhook
    would leave the others only ids that no longer exist)."""
    found = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if only and only not in operation.label:
            continue
        found.append(operation)
    return sorted(found, key=lambda operation: operation.method.upper() == "DELETE")


def cases(operation: Any, known: Known, mode: GenerationMode) -> st.SearchStrategy[Any]:
    """Generated requests; as often as not with every path parameter an id that exists."""
    generated = operation.as_strategy(generation_mode=mode)
    names = [p.name for p in operation.path_parameters]
    if not names or mode is GenerationMode.NEGATIVE:
        return generated
    pools = [known.ids.get(name) or [] for name in names]
    if not all(pools):
        return generated

    def with_ids(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
        return operation.as_strategy(
            generation_mode=mode, path_parameters=dict(zip(names, values, strict=True))
        )

    existing = st.tuples(*(st.sampled_from(pool) for pool in pools)).flatmap(with_ids)
    return st.one_of(generated, existing)


def with_known_values(case: Any, known: Known, draw: Any) -> Any:
    """A valid case's body fields that name something (``customer_id``, ``process_id``,
    ``user``…) set, as often as not, to what exists, so the request gets past the lookup."""
    if not isinstance(case.body, dict):
        return case
    for name, pool_name in BODY_FIELDS.items():
        pool = known.ids.get(pool_name)
        if name in case.body and pool and draw(st.booleans()):
            case.body[name] = draw(st.sampled_from(pool))
    return case


SCHEMATHESIS_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "ignored_auth",
)


def _checks() -> list[Any]:
    from schemathesis import checks as core

    found = []
    for name in SCHEMATHESIS_CHECKS:
        check = getattr(openapi_checks, name, None) or getattr(core, name)
        found.append(check)
    return found


def contract_problems(response: Any) -> list[str]:
    """The API's own rules for an answer (beyond what the OpenAPI document says)."""
    problems = []
    body = response.content.decode("utf-8", "replace") if response.content else ""
    if TRACEBACK.search(body):
        problems.append("a traceback in the body")
    status = response.status_code
    if 400 <= status < 500:
        try:
            error = response.json()["error"]
        except Exception:
            problems.append(f"{status} without the error JSON: {body[:200]!r}")
        else:
            if not isinstance(error, dict) or not CODE.match(str(error.get("code", ""))):
                problems.append(f"{status} without a snake_case code: {body[:200]!r}")
            elif not isinstance(error.get("message"), str) or not error["message"].strip():
                problems.append(f"{status} without a message: {body[:200]!r}")
            elif not isinstance(error.get("details"), list):
                problems.append(f"{status} without a details list: {body[:200]!r}")
    return problems


def _request_text(case: Any) -> str:
    parts = [f"{case.method} {case.formatted_path}"]
    if case.query:
        parts.append(f"query={case.query!r}")
    if case.body is not None and case.body is not NOT_SET:
        parts.append(f"body={case.body!r}"[:400])
    if case.media_type:
        parts.append(f"({case.media_type})")
    return " ".join(parts)


# What a refused request must leave as it was ("bad input never loses data"): the records, not
# the logs (a refused sign-in is counted, a message nothing waits for is recorded).
GUARDED_TABLES = (
    "customers",
    "customer_phones",
    "customer_tags",
    "contacts",
    "activities",
    "calls",
    "deals",
    "deal_stage_changes",
    "settings",
    "teams",
    "users",
    "webhook_subscriptions",
    "webhook_subscription_events",
    "process_versions",
    "process_instances",
    "incidents",
    "work_items",
    "work_item_candidates",
    "pool_claims",
    "lead_assignments",
)
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def fingerprint(rt: Runtime) -> dict[str, str]:
    """A digest of each guarded table's rows."""
    found = {}
    with rt.db.engine.connect() as connection:
        for name in GUARDED_TABLES:
            table = Base.metadata.tables[name]
            rows = connection.execute(select(table).order_by(*table.primary_key.columns)).all()
            found[name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return found


def _send(operation: Any, case: Any, headers: dict[str, str], known: Known) -> Any:
    """The request; a PBX event's body is signed with the telephony secret as a PBX signs it,
    so its parsing is fuzzed rather than only its signature check."""
    if operation.path != TELEPHONY or not known.telephony_secret:
        return case.call(headers=headers)
    if case.body is NOT_SET:
        raw = b""
    elif isinstance(case.body, bytes):
        raw = case.body
    else:
        raw = json.dumps(case.body).encode()
    signature = hmac.new(known.telephony_secret.encode(), raw, hashlib.sha256).hexdigest()
    client = operation.app.test_client()
    return client.post(
        case.formatted_path,
        data=raw,
        query_string=case.query,
        headers={**headers, "Content-Type": "application/json", SIGNATURE: signature},
    )


def exercise(
    operation: Any,
    known: Known,
    report: Report,
    *,
    examples: int,
    mode: GenerationMode,
    seed: int = 0,
    guard: Runtime | None = None,
) -> None:
    """Send ``examples`` generated requests (derandomized from ``seed``) and record what fails
    instead of stopping at the first failure. With ``guard``, a write answered 4xx must leave
    the records of that runtime's database as they were."""
    checks = _checks()
    strategy = st.tuples(
        cases(operation, known, mode), st.sampled_from(sorted(known.tokens)), st.data()
    )

    @hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @hypothesis.seed(seed)
    @hypothesis.given(strategy)
    def run(drawn: tuple[Any, str, Any]) -> None:
        case, login, data = drawn
        if mode is GenerationMode.POSITIVE:
            case = with_known_values(case, known, data.draw)
        # A case made invalid in its headers goes as generated (it may lack the token).
        negative_headers = case.meta is not None and case.meta.is_negative_at(
            ParameterLocation.HEADER
        )
        headers = {} if negative_headers else {"Authorization": f"Bearer {known.tokens[login]}"}
        request = f"as {login if headers else 'nobody'}: {_request_text(case)}"
        before = fingerprint(guard) if guard is not None and case.method in WRITES else None
        try:
            response = schemathesis.Response.from_any(_send(operation, case, headers, known))
        except Exception as exc:  # the app raised out of WSGI: a failure of its own
            report.add(Failure(operation.label, "call", None, repr(exc), request))
            return
        report.examples += 1
        status = response.status_code
        report.statuses[status] = report.statuses.get(status, 0) + 1
        mine = report.by_operation.setdefault(operation.label, {})
        mine[status] = mine.get(status, 0) + 1
        if before is not None and 400 <= status < 500:
            changed = sorted(n for n, digest in fingerprint(guard).items() if before[n] != digest)
            if changed:
                problem = f"refused, yet changed {', '.join(changed)}"
                report.add(Failure(operation.label, "data", status, problem, request))
        for problem in contract_problems(response):
            report.add(Failure(operation.label, "contract", response.status_code, problem, request))
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except (FailureGroup, AssertionError) as exc:
            for failure in getattr(exc, "exceptions", [exc]):
                title = getattr(failure, "title", type(failure).__name__)
                message = getattr(failure, "message", str(failure))
                report.add(
                    Failure(operation.label, str(title), response.status_code, message, request)
                )

    # Unsatisfiable: nothing of the operation can be made invalid (no parameters, no body).
    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        run()


def stateful(schema: Any, known: Known, report: Report, *, examples: int, steps: int = 8) -> None:
    """Scenarios along the links schemathesis infers between operations (an id one answer
    carries, used by the next request), as the administrator, with the same checks."""
    from schemathesis.generation.stateful import run_state_machine_as_test

    checks = _checks()
    headers = {"Authorization": f"Bearer {known.tokens['admin']}"}
    machine = schema.as_state_machine()

    class Scenarios(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers}

        def validate_response(self, response: Any, case: Any, *_a: Any, **_k: Any) -> None:
            label = f"{case.operation.label} (stateful)"
            request = f"as admin: {_request_text(case)}"
            report.examples += 1
            status = response.status_code
            report.statuses[status] = report.statuses.get(status, 0) + 1
            mine = report.by_operation.setdefault(label, {})
            mine[status] = mine.get(status, 0) + 1
            for problem in contract_problems(response):
                report.add(Failure(label, "contract", status, problem, request))
            try:
                case.validate_response(response, checks=checks, headers=headers)
            except (FailureGroup, AssertionError) as exc:
                for failure in getattr(exc, "exceptions", [exc]):
                    title = str(getattr(failure, "title", type(failure).__name__))
                    message = getattr(failure, "message", str(failure))
                    report.add(Failure(label, title, status, message, request))

    settings = hypothesis.settings(
        max_examples=examples,
        stateful_step_count=steps,
        derandomize=True,
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
    )
    try:
        run_state_machine_as_test(Scenarios, settings=settings)
    except hypothesis.errors.Flaky as exc:
        # A scenario draws from earlier answers, and the database has moved on since: when
        # Hypothesis replays a choice sequence it may find other data and stop. What was sent
        # until then was checked (failures are recorded, never raised).
        first = (str(exc).strip().splitlines() or [""])[0]
        report.notes.append(f"stateful scenarios stopped early: {first[:160]}")


def fuzz(
    app: Flask,
    known: Known,
    *,
    examples: int,
    modes: Iterable[GenerationMode] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
    only: str | None = None,
    progress: Callable[[str], None] = lambda _line: None,
    guard: Runtime | None = None,
    scenarios: int = 0,
) -> Report:
    """Each operation (``only``: those whose label holds it) with ``examples`` requests per
    generation mode (0: none), then ``scenarios`` stateful scenarios along the inferred links."""
    schema = load_schema(app)
    report = Report()
    started = time.perf_counter()
    found = operations(schema, only)
    report.operations = len(found)
    for operation in found if examples else ():
        before = report.examples
        for mode in modes:
            exercise(operation, known, report, examples=examples, mode=mode, guard=guard)
        progress(f"{operation.label}: {report.examples - before} requests")
    if scenarios:
        before = report.examples
        stateful(schema, known, report, examples=scenarios)
        progress(f"stateful: {scenarios} scenarios, {report.examples - before} requests")
    report.seconds = time.perf_counter() - started
    return report
