"""The time the scripts of one step may take (``DIALFLOW_SCRIPT_TIME_LIMIT``).

A script, condition, DMN cell or pre/post-script that loops for ever (``while True: pass``,
a loop over ``range(10**12)``, a ``while`` whose way out never comes with this data) ran
inside the request or worker step that ran it: the instance stayed locked (on SQLite the
whole database's write lock was held), the request never answered, a worker was lost.

Every ``for`` and ``while`` loop and every comprehension of a script or expression is
rewritten (``LoopGuard``, applied by ``engine.sandbox.guarded`` with its other rewrite, once
per text) so that its iterations are counted, and every ``EVERY`` of them the step's clock
(``ScriptClock``) is read; past the step's deadline the loop raises ``ScriptTimedOut``, which
the step turns into a ``script_timeout`` incident on the task, at the loop's line. The
counting is done by C iterators (``itertools``), so a loop pays almost nothing for it:

* ``while TEST: BODY`` runs as ``for () in <loop>(): if not TEST: break`` then ``BODY``:
  the step's counts, ``()`` ``EVERY`` times, then a look at the clock, and so on;
* ``for x in ITER`` (and each ``for`` of a comprehension) runs over ``<loop>(ITER)``: a
  ``range`` in slices of ``EVERY`` (the clock read between them), a tuple, text, dictionary
  or set of at most ``EVERY`` items as it is (its length counted; none of them can grow
  while it is iterated), a longer list in slices read from it as the loop goes (the loop
  may append to it), anything else (a short list, a generator, ``itertools.count()``)
  through ``itertools.compress`` with a selector that counts.

Loops a script does not write count too: a call of a function or lambda it defines counts
one pass (``f(k - 1) + f(k - 1)`` recursing 40 deep never loops, and ran for days), and the
iterable given to a builtin that reads it whole (``sum(range(n))``, ``max``, ``sorted``,
``list``, ``any``, ``"".join`` …) is read through ``<loop>(ITER)`` as a ``for`` would be
(those ran in C and held the step for as long as the range was long).

Once the deadline has passed, every later count raises again at once: a script that catches
the failure (``except Exception``) inside a loop is stopped by the loop around it.

The deadline is the step's: set when the step runs its first script or expression, it holds
for all the scripts that step runs. At deploy, ``endless_loops`` refuses a ``while True:``
with no way out at all (no ``break``, ``return``, ``raise`` or ``fail()``), which could only
hang until then.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Iterable, Iterator
from itertools import chain, compress, islice, repeat
from operator import length_hint
from typing import Any

DEFAULT_LIMIT = 10  # seconds, ``Settings.script_time_limit``
EVERY = 1024  # iterations between two reads of the clock
SMALL = 64  # a longer list is read in slices, a shorter one through ``compress``

# The name the rewritten scripts call ``ScriptClock.loop`` by: no script can write it.
LOOP_NAME = "<loop guard>"
CALL_NAME = "<call guard>"  # counts one call of a function or lambda the script defines
NAMES = frozenset({LOOP_NAME, CALL_NAME})
# Builtins that read an iterable whole (their first argument); ``min``/``max`` only when
# given one, ``dict`` never (a mapping given to it is no list of its keys).
_READ_WHOLE = frozenset(
    {"sum", "sorted", "list", "tuple", "set", "frozenset", "any", "all", "min", "max"}
)
_ONE_ARGUMENT = frozenset({"min", "max"})
_WHILE: Any = object()  # ``loop()`` called for a ``while`` loop

# A tuple, text, dictionary or set runs its loop over the items it had when the loop began.
_BOUNDED = frozenset(
    {tuple, str, bytes, frozenset, dict, set, type({}.keys()), type({}.values()), type({}.items())}
)


class ScriptTimedOut(Exception):
    """The scripts of a step ran past its deadline, stopped in a loop."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        super().__init__(
            f"the script ran longer than {_seconds(limit)}, the time the scripts of one step "
            "may take (DIALFLOW_SCRIPT_TIME_LIMIT)"
        )


def _seconds(limit: float) -> str:
    return "1 second" if limit == 1 else f"{limit:g} seconds"


class ScriptClock:
    """The deadline of one step's scripts, and the counters its rewritten loops read."""

    def __init__(self, limit: float = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self.deadline: float | None = None
        self.budget = EVERY
        # The counts, made when a loop first needs them (most steps run none). Never
        # exhausted: past the deadline the next part is an iterator that raises at every
        # count, and a chain keeps the part that raised as its current one.
        self._ticks: Iterator[tuple[()]] | None = None
        self._selectors: Iterator[bool] | None = None
        self.guards = {LOOP_NAME: self.loop, CALL_NAME: self.call}

    def start(self) -> None:
        """The step's first script runs now: its deadline is the limit from now."""
        if self.deadline is None:
            self.deadline = time.monotonic() + self.limit

    def _part(self, item: Any) -> Iterator[Any]:
        """The next ``EVERY`` counts, after a look at the clock."""
        deadline = self.deadline
        if deadline is not None and time.monotonic() > deadline:
            return iter(self._time_up, None)
        return repeat(item, EVERY)

    def _time_up(self) -> None:
        raise ScriptTimedOut(self.limit)

    def _read(self) -> None:
        deadline = self.deadline
        if deadline is not None and time.monotonic() > deadline:
            raise ScriptTimedOut(self.limit)

    def spend(self, count: int) -> None:
        self.budget -= count
        if self.budget <= 0:
            self.budget = EVERY
            self._read()

    def loop(self, iterable: Iterable[Any] = _WHILE) -> Iterable[Any]:
        """What a rewritten ``for`` loop iterates instead of ``iterable``: the same items;
        without one, the counts a rewritten ``while`` loop runs over."""
        if iterable is _WHILE:
            if self._ticks is None:
                self._ticks = chain.from_iterable(map(self._part, repeat(())))
            return self._ticks
        kind = type(iterable)
        if kind is range:
            size = len(iterable)  # type: ignore[arg-type]
            if size <= EVERY:
                self.spend(size)
                return iterable
            return chain.from_iterable(
                map(self._range_part, repeat(iterable), range(0, size, EVERY))
            )
        if kind in _BOUNDED and len(iterable) <= EVERY:  # type: ignore[arg-type]
            self.spend(len(iterable))  # type: ignore[arg-type]
            return iterable
        if kind is list and len(iterable) > SMALL:  # type: ignore[arg-type]
            # in slices read from the list as the loop goes (it may grow or change)
            items = iter(iterable)
            return chain.from_iterable(map(self._list_part, repeat(items)))
        if self._selectors is None:
            self._selectors = chain.from_iterable(map(self._part, repeat(True)))
        return compress(iterable, self._selectors)

    def call(self) -> bool:
        """A call of a function the script defines: one count (``True``, for a lambda's
        ``<call>() and BODY``)."""
        if self._ticks is None:
            self._ticks = chain.from_iterable(map(self._part, repeat(())))
        next(self._ticks)
        return True

    def _list_part(self, items: Iterator[Any]) -> Iterator[Any]:
        if length_hint(items) == 0:  # what the loop's next step would find: the end
            raise StopIteration  # ends the chain, as the list's own end would
        self.spend(EVERY)
        return islice(items, EVERY)

    def _range_part(self, whole: range, start: int) -> range:
        self.spend(EVERY)
        return whole[start : start + EVERY]


def timed_out(exc: BaseException | None) -> ScriptTimedOut | None:
    """The ``ScriptTimedOut`` behind ``exc`` (SpiffWorkflow wraps a script's failure)."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, ScriptTimedOut):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


class LoopGuard(ast.NodeTransformer):
    """Count the iterations of every ``for``/``while`` loop and comprehension, the calls of
    the functions a script defines and the items of iterables builtins read whole (see
    above)."""

    def __init__(self, assigned: frozenset[str] = frozenset()) -> None:
        # names the script itself binds: a ``sum`` it defines is not the builtin
        self.assigned = assigned

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        self.generic_visit(node)
        count = ast.Expr(value=_call_count())
        node.body.insert(0, _located(count, node.body[0]))
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        self.generic_visit(node)
        body = ast.BoolOp(op=ast.And(), values=[_call_count(), node.body])
        node.body = _located(body, node.body)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        reads_whole = (
            isinstance(func, ast.Name)
            and func.id in _READ_WHOLE
            and func.id not in self.assigned
            and (func.id not in _ONE_ARGUMENT or len(node.args) == 1)
        ) or (isinstance(func, ast.Attribute) and func.attr == "join" and len(node.args) == 1)
        if reads_whole and node.args and not isinstance(node.args[0], ast.Starred):
            node.args[0] = _guarded_iter(node.args[0])
        return node

    def visit_For(self, node: ast.For) -> ast.AST:
        self.generic_visit(node)
        node.iter = _guarded_iter(node.iter)
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        self.generic_visit(node)
        if not node.is_async:
            node.iter = _guarded_iter(node.iter)
        return node

    def visit_While(self, node: ast.While) -> ast.AST:
        self.generic_visit(node)
        if node.orelse:  # rare: the count as a statement, leaving the loop as written
            count = ast.For(
                target=ast.Tuple(elts=[], ctx=ast.Store()),
                iter=_ticks(),
                body=[ast.Break()],
                orelse=[],
            )
            node.body.insert(0, _located(count, node))
            return node
        leave = ast.If(
            test=ast.UnaryOp(op=ast.Not(), operand=node.test), body=[ast.Break()], orelse=[]
        )
        loop = ast.For(
            target=ast.Tuple(elts=[], ctx=ast.Store()),
            iter=_ticks(),
            body=[_located(leave, node), *node.body],
            orelse=[],
        )
        return _located(loop, node)


def _ticks() -> ast.expr:
    return ast.Call(func=ast.Name(id=LOOP_NAME, ctx=ast.Load()), args=[], keywords=[])


def _call_count() -> ast.expr:
    return ast.Call(func=ast.Name(id=CALL_NAME, ctx=ast.Load()), args=[], keywords=[])


def _guarded_iter(iterable: ast.expr) -> ast.expr:
    call = ast.Call(func=ast.Name(id=LOOP_NAME, ctx=ast.Load()), args=[iterable], keywords=[])
    return _located(call, iterable)


def _located(node: Any, where: ast.AST) -> Any:
    """``node`` and what it holds without a place, at ``where``'s line."""
    for part in ast.walk(node):
        if "lineno" in part._attributes and not hasattr(part, "lineno"):
            ast.copy_location(part, where)
    return node


def has_loops(tree: ast.AST) -> bool:
    """Whether ``tree`` loops, calls functions it defines or reads an iterable whole."""
    return any(_loops(node) for node in ast.walk(tree))


def _loops(node: ast.AST) -> bool:
    if isinstance(node, ast.For | ast.While | ast.comprehension | ast.FunctionDef | ast.Lambda):
        return True
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id in _READ_WHOLE) or (
        isinstance(func, ast.Attribute) and func.attr == "join"
    )


def assigned_names(tree: ast.AST) -> frozenset[str]:
    """The names a script binds itself (assignments, ``def``, ``class``, imports)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return frozenset(names)


# Ways out of a loop besides its test: ``fail()`` is the scripts' own raise.
_EXITS = (ast.Return, ast.Raise, ast.Assert, ast.Yield, ast.YieldFrom, ast.Await)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def endless_loops(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, message) for each ``while True:`` (any constant true test) that nothing can
    leave: no ``break`` of its own, no ``return``, ``raise``, ``assert``, ``yield`` or call of
    ``fail()`` inside, and no ``try`` around it that could catch a failure as its way out."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, caught: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, _SCOPES):
                visit(child, False)
                continue
            if (
                isinstance(child, ast.While)
                and isinstance(child.test, ast.Constant)
                and child.test.value
                and not caught
                and not _leaves(child)
            ):
                found.append(
                    (
                        child.lineno,
                        "loops for ever: a 'while True:' with no break, return or raise inside "
                        "never ends, and holds the instance until the script time limit "
                        "(DIALFLOW_SCRIPT_TIME_LIMIT) stops it; add a break for when the "
                        "work is done, or loop 'for' over the items",
                    )
                )
            inside = caught or (isinstance(child, ast.Try | ast.TryStar) and bool(child.handlers))
            if isinstance(child, ast.Try | ast.TryStar):
                for part in child.body:
                    visit_one(part, inside)
                for part in (*child.handlers, *child.orelse, *child.finalbody):
                    visit_one(part, caught)
                continue
            visit(child, caught)

    def visit_one(node: ast.AST, caught: bool) -> None:
        holder = ast.Module(body=[node], type_ignores=[]) if isinstance(node, ast.stmt) else node
        visit(holder, caught)

    visit(tree, False)
    return sorted(found)


def _leaves(loop: ast.While) -> bool:
    """Whether anything in ``loop``'s body can end it."""

    def search(nodes: list[Any], own_level: bool) -> bool:
        for node in nodes:
            for part in _walk_scope(node):
                if isinstance(part, _EXITS):
                    return True
                if isinstance(part, ast.Call) and _calls_fail(part):
                    return True
            if own_level and _breaks(node):
                return True
        return False

    return search(loop.body, True)


def _walk_scope(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk`` without going into functions, lambdas and classes defined inside."""
    todo = [node]
    while todo:
        part = todo.pop()
        yield part
        todo.extend(c for c in ast.iter_child_nodes(part) if not isinstance(c, _SCOPES))


def _breaks(node: ast.AST) -> bool:
    """A ``break`` in ``node`` that leaves the loop ``node`` is written in (not a loop of its
    own inside it; a ``break`` in such a loop's ``else`` leaves the outer one)."""
    if isinstance(node, ast.Break):
        return True
    if isinstance(node, _SCOPES):
        return False
    if isinstance(node, ast.For | ast.AsyncFor | ast.While):
        return any(_breaks(part) for part in node.orelse)
    return any(_breaks(child) for child in ast.iter_child_nodes(node))


def _calls_fail(call: ast.Call) -> bool:
    return isinstance(call.func, ast.Name) and call.func.id == "fail"
