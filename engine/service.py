"""``ProcessEngine``: the long-lived parts of the engine one process needs (no per-user state)."""

from __future__ import annotations

from dataclasses import dataclass, field

from dialflow.clock import Clock, SystemClock
from engine.kept import KeptWorkflows
from engine.specs import SpecCache
from engine.state import StateCodec
from handlers import build_registry
from handlers.registry import HandlerRegistry


@dataclass
class ProcessEngine:
    registry: HandlerRegistry = field(default_factory=build_registry)
    clock: Clock = field(default_factory=SystemClock)
    codec: StateCodec = field(default_factory=StateCodec)
    specs: SpecCache = field(default_factory=SpecCache)
    # Each instance's last saved workflow, for its next step here (see ``engine.kept``).
    kept: KeptWorkflows = field(default_factory=KeptWorkflows)
    # The most characters an instance's stored state may hold after a step
    # (``Settings.max_instance_state``; ``stepper.save`` checks it).
    max_state: int = 4 * 1024 * 1024
    # Seconds the scripts of one step may run (``Settings.script_time_limit``,
    # ``engine.script_time``).
    script_time_limit: float = 10
    # The longest time to live a message may be buffered for, in seconds
    # (``Settings.message_ttl_max``, ``engine.message_buffer``).
    message_ttl_max: int = 86400

    def __post_init__(self) -> None:
        from engine import builtin_handlers

        builtin_handlers.register(self.registry, self)
