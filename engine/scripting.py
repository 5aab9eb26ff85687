"""The script engine of one step: script helpers, and service tasks calling handlers.

Scripts and expressions are Python, evaluated by SpiffWorkflow against the task's data. They
may use these helpers and nothing else from outside the data:

========================  ==============================================================
``now()``                 the current time (the engine's clock), timezone-aware UTC
``now_iso()``             the same as an ISO 8601 string
``today(tz)``             today's date in ``tz`` (default: the installation's zone,
                          ``DIALFLOW_DEFAULT_TIMEZONE``) as ``YYYY-MM-DD``
``in_duration(iso)``      ISO time of now + an ISO 8601 duration, e.g. ``in_duration("PT4H")``;
                          years, months, weeks and days on the installation's calendar
``parse_time(text)``      an aware datetime from ISO 8601 text; text without an offset is a
                          time of the installation's zone, as timers read it
``datetime``,             the classes from :mod:`datetime`
``timedelta``, ``date``
``ZoneInfo``              time zones, e.g. ``now().astimezone(ZoneInfo("Asia/Shanghai"))``
``fail(code, message)``   fail the script with a coded failure: an error boundary event
                          on the script task with that ``errorCode`` (or none) catches it
========================  ==============================================================

and Python's builtins except those that read files or run other code, and ``import`` of the
modules ``engine.sandbox.ALLOWED_MODULES`` lists (math, random, re, json, statistics, …). What
else they reach for fails them as an incident saying what is not available (and is refused
at deploy when it can be seen there: ``engine.sandbox``).

A service task's handler runs inside a savepoint of the step's transaction: when it fails,
its own writes are undone, the step keeps what came before, and an incident is opened —
unless an interrupting error boundary event on the task catches the failure
(``engine/caught_failures.py``).
"""

from __future__ import annotations

import decimal
import json
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy.orm import Session

from crm.models import User
from dialflow.db import connection_lost, lock_failure
from dialflow.errors import DialflowError
from engine import feel_functions
from engine.feel import feel_date, feel_date_time
from engine.feel_builtins import as_stored
from engine.instance_changes import on_shared_data_inside
from engine.juel_runtime import NAMES as JUEL_NAMES
from engine.juel_runtime import VARIABLES as JUEL_VARIABLES
from engine.sandbox import SCRIPT_BUILTINS, explained, guarded
from engine.script_text import expression_text, script_text
from engine.script_time import DEFAULT_LIMIT, NAMES, ScriptClock
from engine.state import StateCodec
from engine.timekeeping import installation_zone, read_time
from handlers.registry import HandlerContext, HandlerError, HandlerRegistry


class ServiceTaskFailed(Exception):
    """Raised out of SpiffWorkflow with the real cause (3.2.0 would hide it as a NameError)."""

    def __init__(
        self,
        task: Any,
        operator_id: str,
        message: str,
        code: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        # Said once: the registry's own messages already start with the operator's id.
        named = message.startswith(f"{operator_id}:") or message.startswith(f"{operator_id} ")
        super().__init__(message if named else f"{operator_id}: {message}")
        self.task = task
        self.operator_id = operator_id
        self.code = code  # the handler's ``HandlerError(code=...)``, for error boundary events
        self.data = data or {}  # its ``data=``, for the path of the catch that takes it


class ScriptFailed(Exception):
    """What a script's ``fail(code, message, data)`` raises: a failure with a code, which an
    error boundary event on the script task naming that code catches (``data``, a dict, joins
    the data of the catch's path)."""

    def __init__(self, code: str | None, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = None if code is None else str(code)
        self.message = str(message)
        self.data = data or {}


class ScriptExited(Exception):
    """A script's ``exit()``, ``quit()`` or ``sys.exit()``: Python's ``SystemExit``, which no
    ``except Exception`` catches, went up through SpiffWorkflow and the request or worker; a
    web worker or the scheduler itself stopped. Said as the script's failure instead."""

    def __init__(self, code: Any) -> None:
        said = "" if code is None else f" with {code!r}"
        super().__init__(
            f"the script called exit(){said}, which would stop the server's Python process, "
            "not the script: to stop early, put the rest of the script under an if; to fail "
            "the task with a code an error boundary event catches, call fail('CODE', 'message')"
        )


def _fail(code: str | None, message: str = "", data: dict[str, Any] | None = None) -> None:
    if data is not None and not isinstance(data, dict):
        raise TypeError(f"fail()'s data must be a dict, not {type(data).__name__}")
    raise ScriptFailed(code, message or f"failed with code {code}", error_data(data))


@dataclass
class StepContext:
    session: Session
    registry: HandlerRegistry
    now: datetime
    actor: User | None
    business_key: str | None
    codec: StateCodec
    # A new instance is inserted once, with its state, when its first step is saved; a handler
    # that needs the id earlier gets the row inserted on demand.
    instance_id_source: Callable[[], int]
    # Seconds the step's scripts may run together (``Settings.script_time_limit``).
    script_time_limit: float = DEFAULT_LIMIT
    # The most characters an instance's state may hold (``Settings.max_instance_state``).
    max_state: int = 4 * 1024 * 1024
    # The username of the instance's starter (``engine.starter``), read only when a start
    # event sets it.
    starter_source: Callable[[], str | None] = lambda: None
    # The savepoint of the step's first writing handler, kept open so that a step kept out
    # (``engine.state_limit``) undoes what its handlers wrote; released when it is saved.
    savepoint: Any = None

    @property
    def instance_id(self) -> int:
        return self.instance_id_source()

    @property
    def starter(self) -> str | None:
        return self.starter_source()


# The data a translated FEEL expression reads, absent variables as null (``_feel_vars.get``).
FEEL_VARIABLES = "_feel_vars"
_SHANGHAI = "Asia/Shanghai"  # ``today()``'s zone before an engine set the installation's


def script_helpers(now: datetime) -> dict[str, Any]:
    def in_duration(iso_duration: str) -> str:
        parsed = TimerEventDefinition.parse_iso_duration(iso_duration)
        return (now + TimerEventDefinition.get_timedelta_from_start(parsed, now)).isoformat()

    def today(tz: str | None = None) -> str:
        zone = ZoneInfo(tz) if tz is not None else installation_zone() or ZoneInfo(_SHANGHAI)
        return now.astimezone(zone).date().isoformat()

    return {
        "now": lambda: now,
        "now_iso": lambda: now.isoformat(),
        "today": today,
        "in_duration": in_duration,
        "parse_time": read_time,
        "datetime": datetime,
        "timedelta": timedelta,
        "date": date,
        "ZoneInfo": ZoneInfo,
        "fail": _fail,
        # what ``engine.feel`` writes for FEEL's date(…) and date and time(…) in DMN cells
        "_feel_date": feel_date,
        "_feel_date_time": feel_date_time,
        # FEEL's functions in what Camunda 8 diagrams write (``engine.zeebe_hints``)
        **feel_functions.helpers(now),
    }


# What Python itself writes into a script's namespace: its builtins, the types of annotated
# assignments (``score: int = 5``, as chat assistants write scripts) and the warnings issued
# (an unclosed ``open()``, ``warnings.warn``). They became task data: type names in every
# instance, and a warning's registry, whose keys are tuples, failed the script on a variable
# it never set.
PYTHONS_OWN = frozenset({"__builtins__", "__annotations__", "__warningregistry__"}) | NAMES


class ScriptEnvironment(TaskDataEnvironment):
    """Task data wins over helpers of the same name (a form field called ``date`` is fine).
    Scripts and expressions run with ``engine.sandbox.SCRIPT_BUILTINS``.

    SpiffWorkflow's own environment refuses such data, and after a script removes every data
    key named like a helper; this one keeps data as the script left it, minus functions and
    what Python itself wrote there (``PYTHONS_OWN``).
    A value the state cannot store (``check_storable`` raises) fails the script, leaving the
    task data untouched, instead of failing the whole step when the instance is saved.
    Their loops count against ``clock``, the step's time (``engine.script_time``), whose
    deadline starts with the first script or expression.
    """

    def __init__(
        self,
        environment_globals: dict[str, Any],
        check_storable: Callable[[str, Any], None],
        clock: ScriptClock | None = None,
    ) -> None:
        super().__init__(environment_globals)
        self.check_storable = check_storable
        self.clock = clock if clock is not None else ScriptClock()
        self.guards = self.clock.guards

    def evaluate(
        self,
        expression: str,
        context: dict[str, Any],
        external_context: dict[str, Any] | None = None,
    ) -> Any:
        if self.clock.deadline is None:
            self.clock.start()
        scope = {
            **self.globals,
            **(external_context or {}),
            **context,
            "__builtins__": SCRIPT_BUILTINS,
            **self.guards,  # after the data: no data key can stand in for them
        }
        if FEEL_VARIABLES in expression:  # FEEL as engine.zeebe_expressions wrote it
            scope[FEEL_VARIABLES] = types.MappingProxyType({**(external_context or {}), **context})
        if "_el_" in expression:
            # a JUEL condition as ``engine.juel`` translated it: EL's operators, and the
            # variables it reads (absent ones are null), put after the data, which cannot
            # shadow them
            scope.update(JUEL_NAMES)
            scope[JUEL_VARIABLES] = types.MappingProxyType({**(external_context or {}), **context})
        try:
            with decimal.localcontext():  # a script's precision is its own (see ``execute``)
                return eval(guarded(expression_text(expression), "eval"), scope)
        except SystemExit as exc:  # a condition or timer raising SystemExit
            raise ScriptExited(exc.code) from None
        except NameError as exc:
            better = explained(exc)
            if better is None:
                raise
            raise better from None

    def execute(
        self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None
    ) -> bool:
        if self.clock.deadline is None:
            self.clock.start()
        scope = {
            **self.globals,
            **(external_context or {}),
            **context,
            "__builtins__": SCRIPT_BUILTINS,
            **self.guards,  # after the data: no data key can stand in for them
        }
        if "_el_" in script:
            # a listener's JUEL value as ``engine.juel.value_python`` wrote it: EL's
            # operators, put after the data (callables, never kept as data)
            scope.update(JUEL_NAMES)
        if FEEL_VARIABLES in script:  # FEEL as engine.zeebe_expressions wrote it
            scope[FEEL_VARIABLES] = types.MappingProxyType({**(external_context or {}), **context})
        try:
            # ``decimal.getcontext().prec = 2`` changed the thread's context: the server's
            # own arithmetic on amounts in that thread afterwards, until it ended.
            with decimal.localcontext():
                exec(guarded(script_text(script), "exec"), scope)
        except SystemExit as exc:
            raise ScriptExited(exc.code) from None
        except NameError as exc:
            better = explained(exc)
            if better is None:
                raise
            raise better from None
        result = {}
        for key, value in scope.items():
            if key in PYTHONS_OWN or key == FEEL_VARIABLES:
                continue
            if callable(value) or isinstance(value, types.ModuleType):
                continue
            if key in self.globals and value is self.globals[key]:
                continue
            if key not in context or context[key] is not value:
                self.check_storable(key, value)
            result[key] = value
        context.clear()
        context.update(result)
        return True


# ``json.dumps(result, default=as_stored, ensure_ascii=False)``, without building an encoder
# for every service task: an encoder holds only its options, so one serves every thread. A
# value JSON has no type for is written as the instance's data shows it (``as_stored``): a
# duration ``P28D``, where ``default=str`` stored Python's ``28 days, 0:00:00``.
_RESULT_JSON = json.JSONEncoder(default=as_stored, ensure_ascii=False)


def error_data(data: dict[str, Any] | None) -> dict[str, Any]:
    """A failure's data as the instance's JSON state holds it (as a handler's result: values
    JSON has no type for, dates, durations and decimals, as text), keyed by text."""
    if not data:
        return {}
    return {str(key): value for key, value in json.loads(_RESULT_JSON.encode(data)).items()}


class StepScriptEngine(PythonScriptEngine):
    """Created per step: it carries that step's session and time, never shared between threads."""

    def __init__(self, context: StepContext) -> None:
        super().__init__(
            environment=ScriptEnvironment(
                script_helpers(context.now),
                context.codec.check_storable,
                ScriptClock(context.script_time_limit),
            )
        )
        self.context = context

    def execute(
        self, task: Any, script: str, external_context: dict[str, Any] | None = None
    ) -> Any:
        # a script inside a parallel multi-instance subprocess sets the activity's data
        with on_shared_data_inside(task):
            return super().execute(task, script, external_context)

    def call_service(
        self,
        task: Any,
        operation_name: str,  # type: ignore[override]
        operation_params: dict[str, Any],
        **_: Any,
    ) -> str:
        ctx = self.context
        handler = ctx.registry.get(operation_name)
        arguments = given_arguments(handler, operation_params)
        handler_context = HandlerContext(
            session=ctx.session,
            actor=ctx.actor,
            instance_id=ctx.instance_id,
            business_key=ctx.business_key,
            now=ctx.now,
        )
        try:
            if handler is not None and not handler.writes:
                result = ctx.registry.call(operation_name, handler_context, arguments)
            else:
                with _handler_savepoint(ctx):
                    result = ctx.registry.call(operation_name, handler_context, arguments)
        except (HandlerError, DialflowError) as exc:
            message = failure_text(exc)
            # a CRM refusal's own code too (``customer_not_found``), which a diagram's error
            # catch names as Camunda 7's external task worker would report it
            code = exc.code
            data = error_data(exc.data) if isinstance(exc, HandlerError) else None
            raise ServiceTaskFailed(task, operation_name, message, code, data) from exc
        except Exception as exc:
            if lock_failure(exc) or connection_lost(exc):  # the database's, not the task's:
                raise  # the whole step is lost
            raise ServiceTaskFailed(task, operation_name, f"{type(exc).__name__}: {exc}") from exc
        return _RESULT_JSON.encode(result)


def given_arguments(handler: Any, operation_params: dict[str, Any]) -> dict[str, Any]:
    """The parameters' values, a null one of an optional parameter left out: as at deploy
    (``engine.checks``), it leaves the parameter to its default, as if not given (a listener
    passes an optional parameter the data may lack, ``engine.zeebe_jobs``)."""
    optional = (
        {name for name, p in handler.parameters.items() if not p.required} if handler else set()
    )
    return {
        name: param.get("value")
        for name, param in operation_params.items()
        if not (param.get("value") is None and name in optional)
    }


@contextmanager
def _handler_savepoint(ctx: StepContext) -> Iterator[None]:
    """A writing handler runs in a savepoint, undone if it fails. The step's first one stays
    open once the handler succeeded, as the step's own (``StepContext.savepoint``, released
    when the step is saved, rolled back if it is kept out): no statement more than before."""
    if ctx.savepoint is not None:
        with ctx.session.begin_nested():
            yield
        return
    ctx.savepoint = ctx.session.begin_nested()
    try:
        yield
    except BaseException:
        if ctx.savepoint.is_active:
            ctx.savepoint.rollback()
        ctx.savepoint = None
        raise


def failure_text(exc: Exception) -> str:
    """A handler's failure as its incident says it: the message and, for a ``DialflowError``
    with field details (the CRM's input checks), each field and what is wrong with it. The
    message alone was "The call could not be logged." with no word of which value was wrong."""
    message = getattr(exc, "message", None) or str(exc)
    said = []
    for detail in getattr(exc, "details", None) or []:
        if not isinstance(detail, dict) or not detail.get("message"):
            continue
        field = detail.get("field")
        said.append(f"{field}: {detail['message']}" if field else str(detail["message"]))
    return f"{message} ({'; '.join(said)})" if said else message
