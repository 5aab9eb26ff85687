"""What counting a script's loops against the step's time costs (``engine/script_time.py``).

    python bench/script_loops.py [--rounds 15] [--size 1000000]

Each script below loops ``--size`` times. It runs as a step runs it (its text compiled by
``sandbox.guarded``: loops counted against a ``ScriptClock``, in the scope
``scripting.ScriptEnvironment`` gives it) and as it ran before the loops were counted (the
same text with only the sandbox's other rewrites, the same scope), alternately, ``--rounds``
times each; the best time of each and their ratio are printed. A ratio of 1.10 is 10% slower.
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import sandbox
from engine.script_time import ScriptClock
from engine.scripting import script_helpers

SCRIPTS = {
    "for over range": "total = 0\nfor i in range(size):\n    total += i\n",
    "for over a list": "total = 0\nfor item in items:\n    total += item\n",
    "while": "i = 0\nwhile i < size:\n    i += 1\n",
    "while True + break": "i = 0\nwhile True:\n    i += 1\n    if i >= size:\n        break\n",
    "generator in sum": "total = sum(i * 2 for i in range(size))\n",
    "list comprehension": "kept = [item for item in items if item % 3 == 0]\n",
    "in a function": (
        "def count(n):\n    k = 0\n    while k < n:\n        k += 1\n    return k\n"
        "total = 0\nfor i in range(size // 1000):\n    total += count(1000)\n"
    ),
}


def unguarded(source: str) -> object:
    """The script as it ran before its loops were counted: the sandbox's other rewrites."""
    tree = sandbox._GuardFormat().visit(ast.parse(source))
    return compile(ast.fix_missing_locations(tree), "<string>", "exec")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--size", type=int, default=1_000_000)
    args = parser.parse_args()
    items = list(range(args.size))
    helpers = script_helpers(datetime.now(UTC))
    print(f"{'script':22} {'before ms':>10} {'after ms':>10} {'ratio':>7}")
    for name, source in SCRIPTS.items():
        plain = unguarded(source)
        before = after = float("inf")
        for _ in range(args.rounds):
            scope = {**helpers, "size": args.size, "items": items}
            scope["__builtins__"] = sandbox.SCRIPT_BUILTINS
            began = time.perf_counter()
            exec(plain, scope)
            before = min(before, time.perf_counter() - began)

            clock = ScriptClock()
            clock.start()
            scope = {**helpers, "size": args.size, "items": items}
            scope.update({"__builtins__": sandbox.SCRIPT_BUILTINS, **clock.guards})
            began = time.perf_counter()
            exec(sandbox.guarded(source, "exec"), scope)
            after = min(after, time.perf_counter() - began)
        print(f"{name:22} {before * 1e3:10.1f} {after * 1e3:10.1f} {after / before:7.3f}")


if __name__ == "__main__":
    main()
