"""The handler registry: operator id → typed callable, with parameter descriptions."""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Union, get_args, get_origin, get_type_hints

from sqlalchemy.orm import Session

from crm.models import User

SUPPORTED_TYPES: dict[type, str] = {
    int: "int",
    float: "float",
    str: "str",
    bool: "bool",
    dict: "dict",
    list: "list",
}


@dataclass
class HandlerContext:
    """What a handler may use: the step's session, who caused the step, and the instance."""

    session: Session
    actor: User | None
    instance_id: int | None
    business_key: str | None
    now: datetime


@dataclass(frozen=True)
class Parameter:
    name: str
    type_name: str
    required: bool
    accepts: tuple[type, ...]
    description: str = ""


@dataclass(frozen=True)
class Handler:
    operator_id: str
    func: Callable[..., Any]
    description: str
    parameters: dict[str, Parameter] = field(default_factory=dict)
    writes: bool = True  # False: a pure function, run without a savepoint
    # parameters given together or not at all (a calling window's start and end)
    together: tuple[tuple[str, ...], ...] = ()
    # problems of the given values (already coerced), for deploy checks and before each call
    check: Callable[[dict[str, Any]], list[str]] | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.operator_id,
            "description": self.description,
            "parameters": [
                {
                    "id": p.name,
                    "type": p.type_name,
                    "required": p.required,
                    "description": p.description,
                }
                for p in self.parameters.values()
            ],
        }


class HandlerError(Exception):
    """A handler refused its input or failed; becomes an incident on the service task.

    ``code`` names the failure for BPMN: an interrupting error boundary event on the service
    task whose error has that ``errorCode`` catches it (one without a code catches any
    failure), and its path runs instead of an incident (``engine/caught_failures.py``).
    ``data`` (a dict of JSON values) joins the data of that path, as a Camunda 8 job error's
    variables do: what the path needs to know of the refusal (``{"dnc_reason": …}``)."""

    def __init__(
        self, *args: Any, code: str | None = None, data: dict[str, Any] | None = None
    ) -> None:
        super().__init__(*args)
        if data is not None and not isinstance(data, dict):
            raise TypeError(f"HandlerError data must be a dict, not {type(data).__name__}")
        self.code = code
        self.data = dict(data or {})


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(
        self,
        operator_id: str,
        description: str = "",
        *,
        writes: bool = True,
        parameters: dict[str, str] | None = None,
        together: tuple[tuple[str, ...], ...] = (),
        check: Callable[[dict[str, Any]], list[str]] | None = None,
    ) -> Callable[[Callable], Callable]:
        """Decorator: ``def f(ctx: HandlerContext, customer_id: int, text: str) -> dict``.

        ``parameters`` describes parameters by name (shown in the modeler); ``together`` names
        groups of parameters given all or none; ``check`` returns the problems of given values
        (checked at deploy for literal values, and before every call)."""

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            if operator_id in self._handlers:
                raise ValueError(f"handler {operator_id!r} registered twice")
            found = _parameters(func, parameters or {})
            unknown = set(parameters or {}).union(*together) - set(found)
            if unknown:
                raise ValueError(f"{operator_id} describes unknown parameters {sorted(unknown)}")
            self._handlers[operator_id] = Handler(
                operator_id,
                func,
                description or (inspect.getdoc(func) or "").split("\n")[0],
                found,
                writes,
                together,
                check,
            )
            return func

        return decorate

    def get(self, operator_id: str) -> Handler | None:
        return self._handlers.get(operator_id)

    def __contains__(self, operator_id: str) -> bool:
        return operator_id in self._handlers

    def describe(self) -> list[dict[str, Any]]:
        return [h.describe() for h in sorted(self._handlers.values(), key=lambda h: h.operator_id)]

    def check_call(self, operator_id: str, param_names: set[str]) -> list[str]:
        """Problems with a service task's operator and parameter names, for deploy checks."""
        handler = self.get(operator_id)
        if handler is None:
            known = ", ".join(sorted(self._handlers))
            return [f"unknown service operator {operator_id!r}; known operators: {known}"]
        problems = [
            f"{operator_id} has no parameter {name!r}"
            for name in sorted(param_names - set(handler.parameters))
        ]
        problems += [
            f"{operator_id} needs parameter {p.name!r} ({p.type_name})"
            for p in handler.parameters.values()
            if p.required and p.name not in param_names
        ]
        return problems + _apart(handler, param_names)

    def check_values(self, operator_id: str, values: dict[str, Any]) -> list[str]:
        """Problems of parameter values known before run time (a diagram's literals)."""
        handler = self.get(operator_id)
        if handler is None:
            return []
        coerced, problems = {}, []
        for name, value in values.items():
            parameter = handler.parameters.get(name)
            if parameter is None:
                continue  # reported by check_call
            try:
                coerced[name] = _coerce(operator_id, parameter, value)
            except HandlerError as exc:
                problems.append(str(exc))
        if handler.check is not None:
            problems += handler.check(coerced)
        return problems

    def call(self, operator_id: str, ctx: HandlerContext, arguments: dict[str, Any]) -> Any:
        handler = self.get(operator_id)
        if handler is None:
            raise HandlerError(f"unknown service operator {operator_id!r}")
        kwargs = {}
        for name, value in arguments.items():
            parameter = handler.parameters.get(name)
            if parameter is None:
                raise HandlerError(f"{operator_id} has no parameter {name!r}")
            kwargs[name] = _coerce(operator_id, parameter, value)
        missing = [
            p.name for p in handler.parameters.values() if p.required and p.name not in kwargs
        ]
        if missing:
            raise HandlerError(f"{operator_id} is missing {', '.join(missing)}")
        given = {name for name, value in kwargs.items() if value is not None}
        problems = _apart(handler, given) + (handler.check(kwargs) if handler.check else [])
        if problems:
            raise HandlerError("; ".join(problems))
        return handler.func(ctx, **kwargs)


def _apart(handler: Handler, given: set[str]) -> list[str]:
    """Groups of parameters that must come together, given in part."""
    problems = []
    for group in handler.together:
        present = [name for name in group if name in given]
        if present and len(present) < len(group):
            names = " and ".join(repr(name) for name in group)
            problems.append(f"{handler.operator_id}: give {names} together, or none of them")
    return problems


def _parameters(func: Callable[..., Any], descriptions: dict[str, str]) -> dict[str, Parameter]:
    hints = get_type_hints(func)
    signature = inspect.signature(func)
    parameters = {}
    for name, param in list(signature.parameters.items())[1:]:  # the first one is the context
        accepts = _accepted_types(hints.get(name, Any))
        type_name = (
            "|".join(SUPPORTED_TYPES.get(t, t.__name__) for t in accepts if t is not type(None))
            or "any"
        )
        parameters[name] = Parameter(
            name,
            type_name,
            param.default is inspect.Parameter.empty,
            accepts,
            descriptions.get(name, ""),
        )
    return parameters


def _accepted_types(hint: Any) -> tuple[type, ...]:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return tuple(t for arg in get_args(hint) for t in _accepted_types(arg))
    if hint is type(None):
        return (type(None),)
    if origin is not None:
        return (origin,)
    return (hint,) if isinstance(hint, type) else ()


def _coerce(operator_id: str, parameter: Parameter, value: Any) -> Any:
    accepts = parameter.accepts
    if not accepts or (
        isinstance(value, accepts) and not (isinstance(value, bool) and bool not in accepts)
    ):
        return value
    if int in accepts and isinstance(value, str) and _is_integer_text(value):
        return int(value)
    if float in accepts and isinstance(value, int | str):
        try:
            return float(value)
        except ValueError:
            pass
    if str in accepts and isinstance(value, int | float):
        return str(value)
    raise HandlerError(
        f"{operator_id}: parameter {parameter.name!r} must be {parameter.type_name}, "
        f"got {type(value).__name__} {value!r}"
    )


def _is_integer_text(value: str) -> bool:
    """ASCII digits with an optional minus: what ``int()`` reads (``str.isdigit`` also takes
    "²" and "①", which it refuses)."""
    digits = value.strip().removeprefix("-")
    return digits.isascii() and digits.isdigit()
