"""The ``re`` a script imports: Python's functions, searched by ``regex`` with a time limit.

Python's ``re`` runs in C, where the step's time limit (``engine.script_time``) cannot reach:
``re.match(r"(a|aa)+$", "a" * 40 + "b")`` in a script tries 2^40 ways and held the step, and
the worker, for hours. FEEL's ``matches``, ``replace`` and ``split`` search with the ``regex``
package, which looks at the clock as it backtracks; scripts now get the same: ``NAMES``
replaces, in the module view ``engine.sandbox`` gives scripts for ``re``, every function that
searches (``match``, ``search``, ``sub``, ``compile`` and the methods of what it compiles…) by
one of ``regex`` given ``PATTERN_SECONDS``. A search past it, or a pattern whose counted
repeats would be written out past ``MOST_REPEATED`` copies, fails the task as FEEL's does:
a ``pattern_timeout`` incident naming the pattern (``engine.feel_builtins``), retried after a
fix. ``regex`` reads patterns as ``re`` does (its version 0); its match objects answer as
``re``'s. What would still search with ``re`` (``Scanner``, ``template``) is refused.

No ``regex`` object reaches a script: a match's ``re`` was ``regex``'s own pattern, whose
``m.re.search(text)`` (``sub``, ``findall``, ``scanner``…) searched with no limit, from any
match (``finditer``'s, a ``sub`` function's); a script sees ``Match``, ``Pattern`` and
``Scanner`` here, whose every search is limited, and whose ``re``/``pattern`` lead back to them.
"""

from __future__ import annotations

import re
import string
import types
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import regex

from engine.feel_builtins import PATTERN_SECONDS, patterned

# ``re``'s flags by name, as ``regex`` numbers them (``ASCII`` and ``DEBUG`` differ).
_FLAGS = {
    name: getattr(regex, name)
    for name in (
        "A",
        "ASCII",
        "I",
        "IGNORECASE",
        "L",
        "LOCALE",
        "M",
        "MULTILINE",
        "S",
        "DOTALL",
        "U",
        "UNICODE",
        "X",
        "VERBOSE",
        "DEBUG",
    )
}


def _flags(flags: Any) -> int:
    """``flags`` as ``regex`` reads them: one of ``re.RegexFlag`` by its names."""
    if isinstance(flags, re.RegexFlag):
        found = 0
        for flag in re.RegexFlag:
            if flag in flags and flag.name in _FLAGS:
                found |= _FLAGS[flag.name]
        return found
    return int(flags)


def _searched(function: str, pattern: Any, search: Callable[[], Any]) -> Any:
    """``search()`` under the time limit, said as ``re.function()`` of ``pattern``."""
    return patterned(f"re.{function}", pattern, search)


_REGEX_PATTERN = type(regex.compile(""))
_REGEX_MATCH = type(regex.compile("").match(""))


def _not_made_here(kind: str) -> NoReturn:
    raise TypeError(f"cannot create 're.{kind}' instances")


class Pattern:
    """What ``re.compile`` gives a script: a compiled pattern whose searches stop at the
    time limit."""

    __slots__ = ("_compiled",)
    __class_getitem__ = classmethod(types.GenericAlias)

    def __init__(self, compiled: Any) -> None:
        if not isinstance(compiled, _REGEX_PATTERN):
            _not_made_here("Pattern")  # as ``re.Pattern(...)``: a script wraps nothing
        self._compiled = compiled

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pattern) and self._compiled == other._compiled

    def __hash__(self) -> int:
        return hash(self._compiled)

    def __copy__(self) -> Pattern:
        return self

    def __deepcopy__(self, memo: Any) -> Pattern:
        return self

    @property
    def pattern(self) -> Any:
        return self._compiled.pattern

    @property
    def flags(self) -> int:
        return self._compiled.flags

    @property
    def groups(self) -> int:
        return self._compiled.groups

    @property
    def groupindex(self) -> dict[str, int]:
        return dict(self._compiled.groupindex)

    def __repr__(self) -> str:
        return f"re.compile({self._compiled.pattern!r})"

    def _run(self, function: str, *args: Any, **options: Any) -> Any:
        method = getattr(self._compiled, function)
        given = {key: value for key, value in options.items() if value is not None}
        return _searched(
            function,
            self._compiled.pattern,
            lambda: method(*args, timeout=PATTERN_SECONDS, **given),
        )

    def _found(self, found: Any) -> Match | None:
        return None if found is None else Match(found, self)

    def match(self, string: Any, pos: int | None = None, endpos: int | None = None) -> Any:
        return self._found(self._run("match", string, pos=pos, endpos=endpos))

    def fullmatch(self, string: Any, pos: int | None = None, endpos: int | None = None) -> Any:
        return self._found(self._run("fullmatch", string, pos=pos, endpos=endpos))

    def search(self, string: Any, pos: int | None = None, endpos: int | None = None) -> Any:
        return self._found(self._run("search", string, pos=pos, endpos=endpos))

    def findall(self, string: Any, pos: int | None = None, endpos: int | None = None) -> Any:
        return self._run("findall", string, pos=pos, endpos=endpos)

    def finditer(
        self, string: Any, pos: int | None = None, endpos: int | None = None
    ) -> Iterator[Any]:
        # every match found within the limit, not lazily past it
        found = self._run("finditer", string, pos=pos, endpos=endpos)
        listed = _searched("finditer", self._compiled.pattern, lambda: list(found))
        return iter([Match(each, self) for each in listed])

    def scanner(self, string: Any, pos: int | None = None, endpos: int | None = None) -> Scanner:
        return Scanner(self._run("scanner", string, pos=pos, endpos=endpos), self)

    def _replacement(self, repl: Any) -> Any:
        """``repl``, a function given this module's ``Match`` (``m.re`` searching limited)."""
        if not callable(repl):
            return repl
        return lambda found: repl(Match(found, self))

    def sub(self, repl: Any, string: Any, count: int = 0) -> Any:
        return self._run("sub", self._replacement(repl), string, count)

    def subn(self, repl: Any, string: Any, count: int = 0) -> Any:
        return self._run("subn", self._replacement(repl), string, count)

    def split(self, string: Any, maxsplit: int = 0) -> Any:
        return self._run("split", string, maxsplit)


class Match:
    """A match as ``re`` gives it, whose ``re`` is the ``Pattern`` that found it."""

    __slots__ = ("_found", "_pattern")
    __class_getitem__ = classmethod(types.GenericAlias)

    def __init__(self, found: Any, pattern: Pattern) -> None:
        if not isinstance(found, _REGEX_MATCH) or not isinstance(pattern, Pattern):
            _not_made_here("Match")
        self._found = found
        self._pattern = pattern

    @property
    def re(self) -> Pattern:
        return self._pattern

    @property
    def string(self) -> Any:
        return self._found.string

    @property
    def pos(self) -> int:
        return self._found.pos

    @property
    def endpos(self) -> int:
        return self._found.endpos

    @property
    def lastindex(self) -> int | None:
        return self._found.lastindex

    @property
    def lastgroup(self) -> str | None:
        return self._found.lastgroup

    @property
    def regs(self) -> tuple[tuple[int, int], ...]:
        return self._found.regs

    def group(self, *groups: Any) -> Any:
        return self._found.group(*groups)

    def __getitem__(self, group: Any) -> Any:
        return self._found[group]

    def groups(self, default: Any = None) -> tuple[Any, ...]:
        return self._found.groups(default)

    def groupdict(self, default: Any = None) -> dict[str, Any]:
        return self._found.groupdict(default)

    def start(self, group: Any = 0) -> int:
        return self._found.start(group)

    def end(self, group: Any = 0) -> int:
        return self._found.end(group)

    def span(self, group: Any = 0) -> tuple[int, int]:
        return self._found.span(group)

    def expand(self, template: Any) -> Any:
        return self._found.expand(template)

    def __repr__(self) -> str:
        return f"<re.Match object; span={self.span()!r}, match={self.group()!r}>"

    def __copy__(self) -> Match:
        return self

    def __deepcopy__(self, memo: Any) -> Match:
        return self


class Scanner:
    """What ``Pattern.scanner`` gives: its ``match`` and ``search`` limited, one by one."""

    __slots__ = ("_pattern", "_scanner")

    def __init__(self, scanner: Any, pattern: Pattern) -> None:
        self._scanner = scanner
        self._pattern = pattern

    @property
    def pattern(self) -> Pattern:
        return self._pattern

    def match(self) -> Match | None:
        said = self._pattern._compiled.pattern
        return self._pattern._found(_searched("scanner", said, self._scanner.match))

    def search(self) -> Match | None:
        said = self._pattern._compiled.pattern
        return self._pattern._found(_searched("scanner", said, self._scanner.search))


def compile(pattern: Any, flags: Any = 0) -> Pattern:
    if isinstance(pattern, Pattern):
        return pattern
    return _searched("compile", pattern, lambda: Pattern(regex.compile(pattern, _flags(flags))))


def match(pattern: Any, string: Any, flags: Any = 0) -> Any:
    return compile(pattern, flags).match(string)


def fullmatch(pattern: Any, string: Any, flags: Any = 0) -> Any:
    return compile(pattern, flags).fullmatch(string)


def search(pattern: Any, string: Any, flags: Any = 0) -> Any:
    return compile(pattern, flags).search(string)


def findall(pattern: Any, string: Any, flags: Any = 0) -> Any:
    return compile(pattern, flags).findall(string)


def finditer(pattern: Any, string: Any, flags: Any = 0) -> Iterator[Any]:
    return compile(pattern, flags).finditer(string)


def sub(pattern: Any, repl: Any, string: Any, count: int = 0, flags: Any = 0) -> Any:
    return compile(pattern, flags).sub(repl, string, count)


def subn(pattern: Any, repl: Any, string: Any, count: int = 0, flags: Any = 0) -> Any:
    return compile(pattern, flags).subn(repl, string, count)


def split(pattern: Any, string: Any, maxsplit: int = 0, flags: Any = 0) -> Any:
    return compile(pattern, flags).split(string, maxsplit)


def _template_subclass(cls: type) -> None:
    """``string.Template.__init_subclass__`` with the pattern compiled here: a script's
    ``class T(string.Template): pattern = r"(a|aa)+$"`` (or ``idpattern``, ``delimiter``)
    was compiled by ``re`` and ``T.pattern.search(text)``, ``T(text).substitute()`` searched
    with no time limit."""
    if "pattern" in vars(cls):
        written = cls.pattern  # type: ignore[attr-defined]
    else:
        delim = re.escape(cls.delimiter)  # type: ignore[attr-defined]
        named = cls.idpattern  # type: ignore[attr-defined]
        braced = cls.braceidpattern or named  # type: ignore[attr-defined]
        written = rf"""
        {delim}(?:
          (?P<escaped>{delim})  |
          (?P<named>{named})    |
          {{(?P<braced>{braced})}} |
          (?P<invalid>)
        )
        """
    cls.pattern = compile(written, cls.flags | re.VERBOSE)  # type: ignore[attr-defined]


# What a script's ``string`` holds as ``Template``: ``string.Template``'s own methods, its
# subclasses' patterns compiled here; a class apart, whose ``mro()`` leads to no ``re`` one.
Template = type(
    "Template",
    (),
    {
        **{
            key: value
            for key, value in vars(string.Template).items()
            if key not in {"__dict__", "__weakref__", "__init_subclass__", "pattern"}
        },
        "__init_subclass__": classmethod(_template_subclass),
    },
)
_template_subclass(Template)


def _searches_with_re(name: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        from engine.sandbox import NotAvailable  # the sandbox imports this module

        raise NotAvailable(
            f"re.{name} is not available to scripts: it searches with no time limit; "
            "use re.compile(...) and its match, search, findall or sub"
        )

    return refuse


# What a script's ``re`` holds instead of ``re``'s own names.
NAMES: dict[str, Any] = {
    **_FLAGS,
    "compile": compile,
    "match": match,
    "fullmatch": fullmatch,
    "search": search,
    "findall": findall,
    "finditer": finditer,
    "sub": sub,
    "subn": subn,
    "split": split,
    "error": regex.error,
    "Pattern": Pattern,
    "Match": Match,
    "Scanner": _searches_with_re("Scanner"),
    "template": _searches_with_re("template"),
}
