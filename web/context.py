"""Per-request access to the runtime and to one unit of work, without globals."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from sqlalchemy.orm import Session

from dialflow.runtime import Runtime
from dialflow.settings import Settings


def runtime() -> Runtime:
    return current_app.extensions["dialflow"]


def settings() -> Settings:
    return runtime().settings


@contextmanager
def unit_of_work(*, read_only: bool = False) -> Iterator[Session]:
    with runtime().db.unit_of_work(read_only=read_only) as session:
        yield session
