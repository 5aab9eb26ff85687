"""What scripts, conditions, expressions and DMN cells may reach beyond their data.

A process owner (not only an administrator) deploys diagrams, and a script is Python run on
the server: without limits ``import os; os.system(...)`` or ``open('/etc/passwd')`` ran there.
Python run by ``exec`` cannot be sandboxed completely; this is defence in depth, in two parts:

* at run time every script and expression sees ``SCRIPT_BUILTINS``: Python's builtins without
  those that read files, run other code or reach the interpreter (``REMOVED``), with an
  ``__import__`` that gives only the modules of ``ALLOWED_MODULES`` (as a copy holding their
  public names, without the modules they import themselves: ``uuid.os``), and ``getattr``,
  ``setattr``, ``delattr`` and ``hasattr`` refusing names written ``__like_this__`` (but
  ``__name__``, ``__qualname__`` and ``__doc__``: ``type(value).__name__``);
* at deploy (``problems_of``, from ``engine.checks``) an import of another module, a call of a
  removed builtin, and an attribute written ``__like_this__`` (``().__class__``) are refused
  on their element and line.

The dictionaries are built once, at import: the step pays nothing per evaluation.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import types
from typing import Any

# Modules a telesales process owner may want in a script: numbers, text, dates, collections.
# Nothing here reads files, opens connections, starts processes or sleeps.
ALLOWED_MODULES = frozenset(
    {
        "base64",
        "calendar",
        "collections",
        "copy",
        "datetime",
        "decimal",
        "fractions",
        "functools",
        "hashlib",
        "itertools",
        "json",
        "math",
        "operator",
        "random",
        "re",
        "statistics",
        "string",
        "textwrap",
        "unicodedata",
        "uuid",
        "warnings",
        "zoneinfo",
    }
)

# Builtins that read or write files, run code given as text, or reach the interpreter.
REMOVED = frozenset(
    {
        "open",
        "exec",
        "eval",
        "compile",
        "input",
        "breakpoint",
        "globals",
        "locals",
        "vars",
        "help",
        "exit",
        "quit",
        "copyright",
        "credits",
        "license",
    }
)

ALLOWED_SAID = ", ".join(sorted(ALLOWED_MODULES))


class NotAvailable(ImportError):
    """A script reached for something scripts may not use."""


# Names written ``__like_this__`` that only say what a value is, read in scripts as
# ``type(value).__name__``; the others lead to the interpreter (``__class__``, ``__globals__``).
HARMLESS_DUNDERS = frozenset({"__name__", "__qualname__", "__doc__"})


def is_dunder(name: object) -> bool:
    return (
        isinstance(name, str)
        and name.startswith("__")
        and name.endswith("__")
        and name not in HARMLESS_DUNDERS
    )


def _module_view(name: str) -> types.ModuleType:
    """The module's public names, without the modules it imports (``random._os``, ``uuid.os``)."""
    module = importlib.import_module(name)
    view = types.ModuleType(name, getattr(module, "__doc__", None))
    for key, value in vars(module).items():
        if not key.startswith("_") and not isinstance(value, types.ModuleType):
            setattr(view, key, value)
    return view


_VIEWS: dict[str, types.ModuleType] = {}


def _import(
    name: str,
    globals: Any = None,
    locals: Any = None,
    fromlist: Any = (),
    level: int = 0,
) -> types.ModuleType:
    top = name.partition(".")[0] if isinstance(name, str) else name
    if level != 0 or top not in ALLOWED_MODULES or name != top:
        raise NotAvailable(
            f"module {name!r} is not available to scripts; they may import {ALLOWED_SAID}"
        )
    view = _VIEWS.get(name)
    if view is None:
        view = _VIEWS[name] = _module_view(name)
    return view


def _refuse(name: object) -> None:
    if is_dunder(name):
        raise NotAvailable(f"attribute {name!r} is not available to scripts")


def _getattr(obj: Any, name: str, *default: Any) -> Any:
    _refuse(name)
    return getattr(obj, name, *default)


def _hasattr(obj: Any, name: str) -> bool:
    _refuse(name)
    return hasattr(obj, name)


def _setattr(obj: Any, name: str, value: Any) -> None:
    _refuse(name)
    setattr(obj, name, value)


def _delattr(obj: Any, name: str) -> None:
    _refuse(name)
    delattr(obj, name)


SCRIPT_BUILTINS: dict[str, Any] = {
    key: value for key, value in vars(builtins).items() if key not in REMOVED
}
SCRIPT_BUILTINS.update(
    {
        "__import__": _import,
        "getattr": _getattr,
        "hasattr": _hasattr,
        "setattr": _setattr,
        "delattr": _delattr,
    }
)


def explained(exc: NameError) -> NameError | None:
    """A ``NameError`` for a removed builtin, said as such (Python's "name 'open' is not
    defined" read as a typo)."""
    name = getattr(exc, "name", None)
    if name in REMOVED:
        return NameError(
            f"{name}() is not available to scripts: they may not read files or run other "
            f"code; they may import {ALLOWED_SAID}"
        )
    return None


def problems_of(tree: ast.AST) -> list[tuple[int | None, str]]:
    """(line in the script, message) for each thing scripts may not use, first one of a kind."""
    found: list[tuple[int | None, str]] = []
    said: set[str] = set()

    def say(node: ast.AST, key: str, message: str) -> None:
        if key not in said:
            said.add(key)
            found.append((getattr(node, "lineno", None), message))

    dunders: dict[int, list[ast.Attribute]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [alias.name for alias in node.names]
            if isinstance(node, ast.ImportFrom):
                names = ["." * node.level + (node.module or "")]
            for name in names:
                if name not in ALLOWED_MODULES:
                    say(
                        node,
                        f"import {name}",
                        f"imports {name!r}, which scripts may not use; they may import "
                        f"{ALLOWED_SAID}",
                    )
        elif isinstance(node, ast.Attribute) and is_dunder(node.attr):
            dunders.setdefault(node.lineno, []).append(node)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name in REMOVED:
                say(
                    node,
                    f"call {name}",
                    f"calls {name}(), which scripts may not use: they may not read files or "
                    "run other code",
                )
            elif name == "__import__" and node.args and isinstance(node.args[0], ast.Constant):
                module = node.args[0].value
                if module not in ALLOWED_MODULES:
                    say(
                        node,
                        f"import {module}",
                        f"imports {module!r}, which scripts may not use; they may import "
                        f"{ALLOWED_SAID}",
                    )
    for line, nodes in dunders.items():
        read = sorted(nodes, key=lambda node: node.end_col_offset or 0)
        names = ", ".join(dict.fromkeys(repr(node.attr) for node in read))
        plural = "s" if len(read) > 1 and "," in names else ""
        found.append(
            (
                line,
                f"reads the attribute{plural} {names}, which scripts may not use: read the "
                "data and the helpers' values instead",
            )
        )
    return sorted(found, key=lambda said: said[0] or 0)
