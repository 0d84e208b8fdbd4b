"""The message bus: every command goes to its one handler; committed events to their follow-ups.

:meth:`MessageBus.handle` runs a command's handler with a fresh unit of work
and returns what the handler returned. Then it collects the events that unit
of work committed and runs the follow-up commands their handlers ask for —
each in a unit of work of its own, after the command that caused it is safely
stored. A follow-up that fails is kept in :attr:`MessageBus.failed_follow_ups`
(and told to ``on_follow_up_error``): the command the user gave has already
succeeded and is not undone by it.

>>> import datetime as dt
>>> from order_management import bootstrap_in_memory
>>> bus = bootstrap_in_memory(now=dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC))
>>> type(bus).__name__
'MessageBus'
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .commands import Command
from .events import DomainEvent
from .handlers import COMMAND_HANDLERS, EVENT_HANDLERS, Dependencies
from .unit_of_work import UnitOfWork

__all__ = ["MessageBus", "UnknownCommandError"]

log = logging.getLogger(__name__)


class UnknownCommandError(TypeError):
    """The bus has no handler for this kind of message."""


@dataclass
class MessageBus:
    """Hands commands to their handlers over units of work made by ``unit_of_work``."""

    unit_of_work: Callable[[], UnitOfWork]
    deps: Dependencies
    handlers: dict[type[Command], Callable[..., Any]] = field(default_factory=lambda: dict(COMMAND_HANDLERS))
    event_handlers: dict[type[DomainEvent], tuple[Callable[[Any], Command | None], ...]] = field(
        default_factory=lambda: dict(EVENT_HANDLERS))
    on_event: Callable[[DomainEvent], None] | None = None
    on_follow_up_error: Callable[[Command, Exception], None] | None = None
    failed_follow_ups: list[tuple[Command, Exception]] = field(default_factory=list)
    store: Any = None  # the committed state behind ``unit_of_work``, where the embedding app wants to read it

    def handle(self, command: Command) -> Any:
        """Run ``command``; then the follow-ups of what it committed. Returns the command's result."""
        result, events = self._run(command)
        queue = list(events)
        while queue:
            event = queue.pop(0)
            if self.on_event is not None:
                self.on_event(event)
            for follow in self.event_handlers.get(type(event), ()):
                follow_up = follow(event)
                if follow_up is None:
                    continue
                try:
                    _, more = self._run(follow_up)
                except Exception as error:
                    log.warning("follow-up %s of %s failed: %s", type(follow_up).__name__, type(event).__name__,
                                error)
                    self.failed_follow_ups.append((follow_up, error))
                    if self.on_follow_up_error is not None:
                        self.on_follow_up_error(follow_up, error)
                    continue
                queue.extend(more)
        return result

    def _run(self, command: Command) -> tuple[Any, list[DomainEvent]]:
        handler = self.handlers.get(type(command))
        if handler is None:
            raise UnknownCommandError(f"no handler for {type(command).__name__}")
        uow = self.unit_of_work()
        result = handler(command, uow, self.deps)
        return result, uow.collect_new_events()
