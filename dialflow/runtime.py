"""The runtime: settings plus database, built the same way by the web app, the CLI and workers."""

from __future__ import annotations

from dataclasses import dataclass

from dialflow.db import Database
from dialflow.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    db: Database

    @classmethod
    def build(cls, settings: Settings | None = None) -> Runtime:
        settings = settings or Settings.from_env()
        return cls(settings=settings, db=Database(settings))

    def close(self) -> None:
        self.db.dispose()
