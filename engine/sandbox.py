"""What scripts, conditions, expressions and DMN cells may reach beyond their data.

A process owner (not only an administrator) deploys diagrams, and a script is Python run on
the server: without limits ``import os; os.system(...)`` or ``open('/etc/passwd')`` ran there.
Python run by ``exec`` cannot be sandboxed completely; this is defence in depth, in two parts:

* at run time every script and expression sees ``SCRIPT_BUILTINS``: Python's builtins without
  those that read files, run other code or reach the interpreter (``REMOVED``), with an
  ``__import__`` that gives only the modules of ``ALLOWED_MODULES`` (as a copy holding their
  public names, without the modules they import themselves: ``uuid.os``, that no script can
  change for the next one: ``math.tau = 0``), and ``getattr``,
  ``setattr``, ``delattr`` and ``hasattr`` refusing names written ``__like_this__`` (but
  ``__name__``, ``__qualname__`` and ``__doc__``: ``type(value).__name__``);
* at deploy (``problems_of``, from ``engine.checks``) an import of another module, a call of a
  removed builtin, and an attribute written ``__like_this__`` (``().__class__``) are refused
  on their element and line, and so is the name ``__builtins__`` (the builtins' one
  dictionary, shared by every script the worker runs). Attributes that lead to the
  interpreter without a dunder are refused the same way, at deploy and in ``getattr``: a
  generator's or a traceback's frame and a frame's globals (``gen.gi_frame.f_back``), and
  private attributes written ``_like_this`` (``warnings.catch_warnings()._module.sys``), but
  named tuples' ``_asdict``, ``_replace``, ``_fields``, ``_make`` (``is_refused_attribute``).

A format string reads attributes too: ``"{0.__class__}".format(x)``, ``str.format_map`` and
``string.Formatter`` reached ``__class__``, ``__globals__``... past both parts. A literal format
string with such a field is refused at deploy (``dunder_field``); at run time a script's
``.format`` and ``.format_map`` are read through ``FORMAT_GUARD`` (``engine.scripting`` rewrites
the attribute, ``getattr`` does the same), which refuses a string with such a field before it
is formatted, and the ``string`` and ``operator`` modules scripts import hold a ``Formatter``,
``attrgetter`` and ``methodcaller`` that refuse them too, none of which leads back to the
unchecked one (by ``type()`` or ``mro()``). ``{0}``, ``{name}``, ``{x.attr}``,
``{:>10}`` and ``{0[key]}`` format as before.

What the server itself uses is not for scripts to change: a write of an attribute
(``obj.name = ...``, ``del obj.name``, ``setattr``) goes through ``_writable``, which refuses
modules, what their views hold and the modules' classes and functions
(``json.JSONEncoder.encode = ...`` changed every JSON answer); the functions that set a
module's state for the whole process (``random.seed``, ``calendar.setfirstweekday``,
``warnings.simplefilter``) are refused, and ``engine.scripting`` runs each script in a decimal
context of its own.

The dictionaries are built once, at import: the step pays nothing per evaluation.
"""

from __future__ import annotations

import _string  # type: ignore[import-not-found]  # str.format's own field-name reader
import ast
import builtins
import decimal
import importlib
import string
import types
from collections import UserString
from typing import Any

from engine import fixed_depth, script_regex
from engine.script_time import LoopGuard, assigned_names, has_loops

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


# Attributes without underscores that lead from a value to the interpreter: a generator's,
# coroutine's or traceback's frame, and a frame's callers and globals. A script's generator
# reached the frame that ran the script, and its globals held the real ``__import__``:
# ``gen.gi_frame.f_back.f_back.f_globals``.
INTERPRETER_ATTRIBUTES = frozenset(
    {
        "gi_frame",
        "gi_code",
        "gi_yieldfrom",
        "cr_frame",
        "cr_code",
        "cr_await",
        "cr_origin",
        "ag_frame",
        "ag_code",
        "ag_await",
        "f_back",
        "f_builtins",
        "f_code",
        "f_globals",
        "f_locals",
        "tb_frame",
        "tb_next",
    }
)
# Named tuples' own methods and fields begin with one underscore (``row._asdict()``).
NAMED_TUPLE_API = frozenset({"_asdict", "_replace", "_fields", "_make", "_field_defaults"})


def is_refused_attribute(name: object) -> bool:
    """An attribute scripts may not read or write: a dunder (but ``HARMLESS_DUNDERS``), one
    of ``INTERPRETER_ATTRIBUTES``, or a private one written ``_like_this``: the modules'
    objects keep other modules there (``warnings.catch_warnings()._module.sys``)."""
    if not isinstance(name, str) or name in HARMLESS_DUNDERS or name in NAMED_TUPLE_API:
        return False
    return name.startswith("_") or name in INTERPRETER_ATTRIBUTES


# The methods of ``str`` that read a format string's fields, attributes included.
FORMAT_METHODS = frozenset({"format", "format_map"})
# The name the rewritten scripts call ``FORMAT_GUARD`` by: no script can write it.
FORMAT_GUARD_NAME = "<format attribute>"


def dunder_field(template: object) -> tuple[str, str] | None:
    """The first field of a format string that reads an attribute scripts may not read
    (``"{0.__class__}"``, ``"{0.gi_frame}"``, nested in a format spec too), and that
    attribute; ``None`` if none."""
    if not isinstance(template, str) or "." not in template:  # no field reads an attribute
        return None
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:  # malformed: formatting it says so itself
        return None
    for _text, field, spec, _conversion in parsed:
        if field:
            try:
                _first, rest = _string.formatter_field_name_split(field)
                names = [key for is_attribute, key in rest if is_attribute]
            except ValueError:
                names = []
            for name in names:
                if is_refused_attribute(name):
                    return "{" + field + "}", name
        nested = dunder_field(spec) if spec else None
        if nested is not None:
            return nested
    return None


def _refuse_format(template: object) -> None:
    found = dunder_field(template)
    if found is not None:
        field, name = found
        raise NotAvailable(
            f"attribute {name!r} is not available to scripts: the format field {field} reads it"
        )


def _format_attribute(obj: Any, name: str) -> Any:
    """``obj.name`` for a script, where ``name`` is ``format`` or ``format_map``: refused for
    a string whose fields read a dunder attribute; ``str.format`` itself checks the string it
    is given. The string is the one the method is bound to, whatever it was read from
    (``super(Text, text).format``), or the text of a ``collections.UserString``."""
    value = getattr(obj, name)
    if name not in FORMAT_METHODS:
        return value
    owner = getattr(value, "__self__", None)
    if isinstance(owner, UserString):
        _refuse_format(owner.data)
    elif isinstance(owner, str):
        _refuse_format(owner)
    elif value is getattr(str, name):
        unbound = value

        def checked(template: Any, *args: Any, **kwargs: Any) -> Any:
            _refuse_format(template)
            return unbound(template, *args, **kwargs)

        return checked
    return value


FORMAT_GUARD = _format_attribute


def _get_field(self: Any, field_name: str, args: Any, kwargs: Any) -> Any:
    """``string.Formatter.get_field`` refusing fields that read a dunder attribute."""
    _refuse_format("{" + field_name + "}")
    first, rest = _string.formatter_field_name_split(field_name)
    obj = self.get_value(first, args, kwargs)
    for is_attribute, key in rest:
        obj = getattr(obj, key) if is_attribute else obj[key]
    return obj, first


# ``string.Formatter`` with that ``get_field``, built from its methods rather than derived from
# it: a subclass led back to it (``string.Formatter.mro()[1]().format("{0.__class__}", x)``).
_Formatter = type(
    "Formatter",
    (),
    {
        **{
            key: value
            for key, value in vars(string.Formatter).items()
            if key not in {"__dict__", "__weakref__"}
        },
        "get_field": _get_field,
    },
)


def _attrgetter(*names: str) -> Any:
    """``operator.attrgetter`` refusing dunder attributes (``attrgetter("__class__")``) and
    giving ``format``/``format_map`` through ``FORMAT_GUARD``; a function, not an
    ``operator.attrgetter``, whose type would be the unchecked one."""
    paths = [str(name).split(".") for name in names]
    for path in paths:
        for part in path:
            _refuse(part)

    def read(obj: Any, path: list[str]) -> Any:
        for part in path:
            obj = _format_attribute(obj, part)
        return obj

    def get(obj: Any) -> Any:
        found = tuple(read(obj, path) for path in paths)
        return found[0] if len(found) == 1 else found

    return get


def _methodcaller(name: str, *args: Any, **kwargs: Any) -> Any:
    """``operator.methodcaller`` refusing dunder methods and checking format strings; a
    function, as ``_attrgetter``."""
    _refuse(name)

    def call(obj: Any) -> Any:
        return _format_attribute(obj, name)(*args, **kwargs)

    return call


# What the modules scripts import hold instead of the reads of attributes by name they offer.
def _process_wide(module: str, name: str, instead: str) -> Any:
    """What scripts call instead of a function that changes the whole server's state
    (``warnings.simplefilter("error")`` made every library's warning an exception,
    ``calendar.setfirstweekday(6)`` every calendar's first day, ``random.seed(1)`` every
    random number the server draws, ``zoneinfo.reset_tzpath(["/nowhere"])`` every time zone
    the server had not read yet)."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise NotAvailable(
            f"{module}.{name}() is not available to scripts: it changes it for every process "
            f"of the server; {instead}"
        )

    return refuse


def _decimal_contexts() -> dict[str, Any]:
    """``decimal``'s template contexts as copies: ``decimal.DefaultContext.prec = 2`` set the
    precision of every thread the server starts afterwards."""
    return {
        name: getattr(decimal, name).copy()
        for name in ("DefaultContext", "BasicContext", "ExtendedContext")
    }


_REPLACED: dict[str, dict[str, Any]] = {
    "string": {"Formatter": _Formatter, "Template": script_regex.Template},
    "operator": {"attrgetter": _attrgetter, "methodcaller": _methodcaller},
    "warnings": {
        **{
            name: _process_wide("warnings", name, "scripts may call warnings.warn()")
            for name in ("simplefilter", "filterwarnings", "resetwarnings", "catch_warnings")
        },
        "filters": (),
    },
    "calendar": {
        "setfirstweekday": _process_wide(
            "calendar", "setfirstweekday", "use calendar.Calendar(firstweekday=6)"
        )
    },
    "random": {
        name: _process_wide("random", name, "use a generator of your own: random.Random(42)")
        for name in ("seed", "setstate")
    },
    "decimal": _decimal_contexts(),
    # searches stopped at FEEL's time limit: ``re`` runs in C, past the step's
    "re": script_regex.NAMES,
    "zoneinfo": {
        "reset_tzpath": _process_wide(
            "zoneinfo", "reset_tzpath", "name the zone: ZoneInfo('Asia/Shanghai')"
        )
    },
}


class _ModuleView(types.ModuleType):
    """A module as scripts see it. One view serves every script the worker runs, so nothing
    of it can be replaced or removed: ``math.sqrt = lambda x: 0`` in one script changed
    ``math.sqrt`` for every later script of every process."""

    def __setattr__(self, name: str, value: Any) -> None:
        raise NotAvailable(
            f"module {self.__name__!r} cannot be changed by scripts: it is shared by every "
            f"script; keep the value in a variable of your own instead of {self.__name__}.{name}"
        )

    def __delattr__(self, name: str) -> None:
        self.__setattr__(name, None)


def _module_view(name: str) -> types.ModuleType:
    """The module's public names, without the modules it imports (``random._os``, ``uuid.os``)."""
    module = importlib.import_module(name)
    view = _ModuleView(name, getattr(module, "__doc__", None))
    names = vars(view)  # filled directly: the view itself refuses to be written
    for key, value in vars(module).items():
        if not key.startswith("_") and not isinstance(value, types.ModuleType):
            names[key] = value
    names.update(_REPLACED.get(name, {}))
    _SHARED.update(id(value) for value in names.values())  # held by the view: kept alive
    return view


# The ids of what the modules' views hold (``decimal.DefaultContext``): one object for every
# script, which ``_writable`` keeps scripts from changing.
_SHARED: set[int] = set()


_VIEWS: dict[str, types.ModuleType] = {}

# Modules that Python's own C code imports through the ``__import__`` of the running code:
# ``datetime``'s ``strftime``, ``timetuple`` and ``format(now(), "%Y")`` import ``time``, and
# ``strptime`` imports ``_strptime``; refused, ``now().strftime("%d.%m.%Y")`` failed the
# script with "module 'time' is not available". The C code reads the module from
# ``sys.modules`` and not what ``__import__`` returns, so a script importing them by name
# gets an empty module: nothing of theirs (``time.sleep``) is offered.
INTERNAL_IMPORTS = frozenset({"time", "_strptime"})
_EMPTY_VIEWS: dict[str, types.ModuleType] = {}


def _import(
    name: str,
    globals: Any = None,
    locals: Any = None,
    fromlist: Any = (),
    level: int = 0,
) -> types.ModuleType:
    if level == 0 and name in INTERNAL_IMPORTS:
        importlib.import_module(name)  # what the caller reads: ``sys.modules``
        return _EMPTY_VIEWS.setdefault(name, _ModuleView(name))
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
    if is_refused_attribute(name):
        raise NotAvailable(f"attribute {name!r} is not available to scripts")


# The name the rewritten scripts call ``_writable`` by: no script can write it.
WRITE_GUARD_NAME = "<attribute write>"


def _writable(obj: Any, name: str) -> Any:
    """``obj``, whose attribute ``name`` a script writes or deletes (``obj.name = ...``,
    ``setattr``), when scripts may change it: not a module, nor what a module's view holds
    (``decimal.DefaultContext``), nor a class or function of a module. Those are the
    server's own: ``json.JSONEncoder.encode = ...`` changed every JSON answer of the worker.
    The script's own classes, functions and objects may be changed."""
    _refuse(name)
    if isinstance(obj, _ModuleView):
        return obj  # which refuses, saying so
    own = getattr(obj, "__module__", None) in (None, "builtins")
    if (
        id(obj) in _SHARED
        or isinstance(obj, types.ModuleType)
        or (isinstance(obj, type | types.FunctionType | types.BuiltinFunctionType) and not own)
    ):
        named = isinstance(obj, type | types.FunctionType | types.BuiltinFunctionType)
        said = obj.__qualname__ if named else type(obj).__qualname__
        raise NotAvailable(
            f"{said}.{name} cannot be changed by scripts: it is the server's own, shared by "
            "every script; keep the value in a variable of your own"
        )
    return obj


def _getattr(obj: Any, name: str, *default: Any) -> Any:
    _refuse(name)
    if name in FORMAT_METHODS:
        try:
            return _format_attribute(obj, name)
        except AttributeError:
            if default:
                return default[0]
            raise
    return getattr(obj, name, *default)


def _hasattr(obj: Any, name: str) -> bool:
    _refuse(name)
    return hasattr(obj, name)


def _setattr(obj: Any, name: str, value: Any) -> None:
    setattr(_writable(obj, name), name, value)


def _delattr(obj: Any, name: str) -> None:
    delattr(_writable(obj, name), name)


SIZE_GUARD_NAME = "<sized operator>"
MAX_RESULT_BITS = 4_000_000  # an integer of about 1.2 million digits
MAX_REPEATED = 50_000_000  # characters or items one repetition makes


def _too_large(op: str, left: Any, right: Any) -> bool:
    """Whether ``left op right`` would build a number or sequence no step could finish:
    Python computes ``10 ** 10 ** 10`` or ``"x" * 10 ** 12`` in one bytecode instruction,
    where the step's time limit (counted in loops) never gets a say."""
    if op == "*":
        for count, seq in ((left, right), (right, left)):
            if isinstance(count, int) and isinstance(seq, str | bytes | list | tuple):
                return count * len(seq) > MAX_REPEATED
        return False
    if not isinstance(left, int) or not isinstance(right, int):
        return False
    if op == "<<":
        return right + left.bit_length() > MAX_RESULT_BITS
    return right > 0 and abs(left) > 1 and left.bit_length() * right > MAX_RESULT_BITS * 2


_SIZED = {ast.Pow: "**", ast.LShift: "<<", ast.Mult: "*"}
_OPERATE = {"**": lambda a, b: a**b, "<<": lambda a, b: a << b, "*": lambda a, b: a * b}


def _sized(op: str, left: Any, right: Any) -> Any:
    """``left op right``, refused with a ``ValueError`` when it is too large to compute."""
    if _too_large(op, left, right):
        raise ValueError(f"{op!r} gives a value too large to compute here")
    return _OPERATE[op](left, right)


def _pow(base: Any, exp: Any, mod: Any = None) -> Any:
    """``pow`` with the size check of ``**`` (a modulus keeps the result small)."""
    return pow(base, exp, mod) if mod is not None else _sized("**", base, exp)


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
        "pow": _pow,
        SIZE_GUARD_NAME: _sized,
        FORMAT_GUARD_NAME: FORMAT_GUARD,
        WRITE_GUARD_NAME: _writable,
    }
)


class _GuardFormat(ast.NodeTransformer):
    """``x.format`` and ``x.format_map`` read as ``FORMAT_GUARD(x, "format")``,
    ``x.name = ...`` (or ``del x.name``) written to ``_writable(x, "name")``, and ``a ** b``,
    ``a << b`` and ``a * b`` (``x **= b`` of a name too) computed by ``_sized``."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        op = _SIZED.get(type(node.op))
        if op is None:
            return node
        return ast.copy_location(_sized_call(op, node.left, node.right), node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        op = _SIZED.get(type(node.op))
        if op is None or not isinstance(node.target, ast.Name):
            return node
        read = ast.Name(id=node.target.id, ctx=ast.Load())
        value = _sized_call(op, read, node.value)
        return ast.copy_location(ast.Assign(targets=[node.target], value=value), node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Store | ast.Del):
            node.value = ast.copy_location(
                ast.Call(
                    func=ast.Name(id=WRITE_GUARD_NAME, ctx=ast.Load()),
                    args=[node.value, ast.Constant(node.attr)],
                    keywords=[],
                ),
                node.value,
            )
            return node
        if node.attr not in FORMAT_METHODS:
            return node
        guarded = ast.Call(
            func=ast.Name(id=FORMAT_GUARD_NAME, ctx=ast.Load()),
            args=[node.value, ast.Constant(node.attr)],
            keywords=[],
        )
        return ast.copy_location(guarded, node)


def _sized_call(op: str, left: ast.expr, right: ast.expr) -> ast.Call:
    return ast.Call(
        func=ast.Name(id=SIZE_GUARD_NAME, ctx=ast.Load()),
        args=[ast.Constant(op), left, right],
        keywords=[],
    )


_GUARDED: dict[tuple[str, str], Any] = {}


def guarded(source: str, mode: str) -> Any:
    """What ``exec`` (``mode`` "exec") or ``eval`` ("eval") should run for ``source``: its
    code with reads of ``format`` attributes through ``FORMAT_GUARD``, writes of
    attributes through ``_writable`` and its loops counted against the step's time
    (``engine.script_time.LoopGuard``), compiled once per text; line numbers kept. Python
    reads identifiers in their NFKC form: ``template.ｆormat`` (a full-width "f") is
    ``format``."""
    key = (source, mode)
    code = _GUARDED.get(key)
    if code is None:
        try:  # where it is asked: no thread to wait for, none to queue behind
            code = prepared(source, mode)
        except RecursionError:
            # too deep from here: again at one depth whoever asks (``engine.fixed_depth``),
            # so a text the deploy's checks prepared (``engine.too_complex``) is prepared
            # in every step, however deep it stands
            code = fixed_depth.run(lambda: prepared(source, mode))
        if code is None:
            return source  # said by ``exec``/``eval`` themselves, as before
        if len(_GUARDED) >= 4096:  # texts come from deployed diagrams: a bound, not a cache policy
            _GUARDED.clear()
        _GUARDED[key] = code
    return code


def prepared(source: str, mode: str) -> Any:
    """``source`` parsed, rewritten and compiled (``guarded``), or None for a syntax error;
    ``RecursionError`` or ``MemoryError`` for a text nested too deep."""
    try:  # ``eval`` itself strips leading spaces and tabs from an expression
        tree = ast.parse(source.lstrip(" \t") if mode == "eval" else source, mode=mode)
        tree = _GuardFormat().visit(tree)
        if has_loops(tree):
            tree = LoopGuard(assigned_names(tree)).visit(tree)
        return compile(ast.fix_missing_locations(tree), "<string>", mode)
    except SyntaxError:
        return None


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
    modules = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store | ast.Del)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
        ):
            say(
                node,
                f"write {node.value.id}.{node.attr}",
                f"changes {node.value.id}.{node.attr}, which scripts may not do: a module is "
                "shared by every script; keep the value in a variable of your own",
            )
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
        elif isinstance(node, ast.Attribute) and is_refused_attribute(node.attr):
            dunders.setdefault(node.lineno, []).append(node)
        elif isinstance(node, ast.Name) and node.id == "__builtins__":
            # One dictionary every script shares: ``__builtins__['len'] = ...`` changed
            # ``len`` for every later script of every process run by that worker.
            say(
                node,
                "__builtins__",
                "uses __builtins__, which scripts may not use: call the builtins by their "
                "names (len(items), getattr(value, 'name'))",
            )
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in FORMAT_METHODS | {"vformat"}
        ):
            for template in (node.func.value, *node.args[:1]):
                field = dunder_field(template.value) if isinstance(template, ast.Constant) else None
                if field is not None:
                    say(
                        node,
                        f"format {field[0]}",
                        f"formats the field {field[0]}, which reads the attribute "
                        f"{field[1]!r}; scripts may not use it: format the data and the "
                        "helpers' values instead",
                    )
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
