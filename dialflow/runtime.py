"""The runtime: settings plus database, built the same way by the web app, the CLI and workers."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dialflow.clock import Clock, SystemClock
from dialflow.db import Database
from dialflow.settings import Settings

if TYPE_CHECKING:
    from engine.service import ProcessEngine


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    _engine: ProcessEngine | None = None
    # Set after a commit that wrote webhook deliveries: wakes this process's sender (embedded).
    webhooks_due: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def build(cls, settings: Settings | None = None, clock: Clock | None = None) -> Runtime:
        settings = settings or Settings.from_env()
        from crm.webhooks.domain_events import install as install_webhooks
        from processes.telesales import install  # the composition root wires CRM events

        install()
        install_webhooks()
        rt = cls(settings=settings, db=Database(settings), clock=clock or SystemClock())
        from dialflow.wakeups import wake_webhooks_after_commit

        wake_webhooks_after_commit(rt)
        return rt

    @property
    def engine(self) -> ProcessEngine:
        """The BPMN engine, built on first use (the CLI's user commands never need it)."""
        if self._engine is None:
            from engine.service import ProcessEngine
            from engine.timekeeping import use_zone

            use_zone(self.settings.default_timezone)  # timer dates written without an offset
            self._engine = ProcessEngine(
                clock=self.clock,
                max_state=self.settings.max_instance_state,
                script_time_limit=self.settings.script_time_limit,
                message_ttl_max=self.settings.message_ttl_max,
            )
        return self._engine

    def deploy_shipped_models(self) -> list[str]:
        """Deploy what ``bpmn/`` ships (at start of the web app and of workers). Content
        addressing makes this a no-op when nothing changed; returns the new versions."""
        from engine.deployments import deploy_directory

        with self.db.unit_of_work() as session:
            results = deploy_directory(self.engine, session, self.settings.bpmn_dir)
        return [f"{v.process_id} v{v.version}" for r in results if r.created for v in r.versions]

    def close(self) -> None:
        self.db.dispose()
