"""Checks used by the Makefile and CI: ``python -m dialflow.devtools pg-ready URL``."""

from __future__ import annotations

import sys

import psycopg
from sqlalchemy.engine import make_url


def pg_ready(url: str) -> bool:
    parsed = make_url(url)
    try:
        psycopg.connect(
            host=parsed.host or "127.0.0.1",
            port=parsed.port or 5432,
            dbname=parsed.database or "postgres",
            user=parsed.username,
            password=parsed.password,
            connect_timeout=3,
        ).close()
    except psycopg.Error:
        return False
    return True


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "pg-ready":
        return 0 if pg_ready(argv[1]) else 1
    print("usage: python -m dialflow.devtools pg-ready URL", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
