"""The one place that talks to durable-rules: post an order's facts, read what fired, forget.

What durable-rules does, and what this adapter does about it (each checked
against durable_rules 2.0.28 in ``tests/order_management/fulfilment/test_durable_adapter.py``):

- It keeps a *state* per ``sid`` and holds at most 1,024 live states per
  ruleset (the 1,023rd new one raises ``MemoryError``). So a state lives only
  while one order is evaluated: its facts are posted, the actions read from the
  state, and the state deleted before the next order. Thousands of open orders
  pass through one live state at a time.
- Facts are identified by their ``id``; every fact gets a fresh one.
- A batch in which one fact matches no rule raises "message not handled" for
  the whole batch *and silently drops the matching facts' actions*. So facts
  are posted one at a time, and "not handled" means "no rule for this fact".
- A state that only ever saw unhandled facts exists but cannot be deleted:
  ``delete_state`` aborts the process. So every evaluation opens its state
  with a sentinel fact that a no-op rule always handles; the state is then a
  normal one and is deleted when the order is done.
- A host object starts background timer threads that dispatch actions on their
  own; ours does not start them (``now`` is passed as data, no rule uses timers)
  and every call into the engine is serialised by the adapter's lock.
- An ``$or`` condition is split into one branch per alternative, and each
  branch that holds fires the action: a fact meeting both sides of an ``or``
  fires the rule twice. Firings are counted once per (rule, fact).
- Numbers are doubles inside the engine: facts carry money in integer minor
  units and decimals in thousandths (see :func:`event_rules.encode_fact`).
- An exception in an action is caught by the engine and written to the state's
  ``exception`` field, never raised. The adapter's actions record their own
  failures with the rule's name, and both are returned as errors of the order
  (:meth:`Evaluation.raise_for_errors` raises :class:`RuleActionError`).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from durable import engine as durable_engine

from rule_language import suggest

from .errors import EventRuleError, RuleActionError, UnknownActionError
from .event_rules import CompiledEventRule, EventRuleSet

__all__ = ["DurableRulesAdapter", "Evaluation", "Firing", "HostAction"]

#: A host action named by a rule's ``action:``: it gets the fact that fired (as posted).
HostAction = Callable[[Mapping[str, Any]], None]

_FIRED = "tarif_fired"
_OPEN = "tarif_open"  # the sentinel fact type
_ERRORS = "tarif_errors"
_engine_ids = itertools.count(1)


class _QuietHost(durable_engine.Host):
    """A durable-rules host without its background dispatch and timer threads."""

    def _run(self) -> None:
        return None


@dataclass(frozen=True)
class Firing:
    """One rule that fired on one fact of an order."""

    rule: CompiledEventRule
    fact: Mapping[str, Any]


@dataclass(frozen=True)
class Evaluation:
    """What the event rules said about one order: the firings, and any action errors."""

    order_id: str
    firings: tuple[Firing, ...] = ()
    errors: tuple[tuple[str, str], ...] = field(default=())  # (rule key or "engine", message)

    def raise_for_errors(self) -> None:
        if self.errors:
            rule, message = self.errors[0]
            more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
            raise RuleActionError(self.order_id, rule, message + more)


class DurableRulesAdapter:
    """Runs compiled event rules in one durable-rules host, one order at a time.

    >>> from order_management.fulfilment.event_rules import CompiledEventRule, RuleSection, FactType
    >>> rule = CompiledEventRule("demo/hold/vip", "vip", RuleSection.HOLD, FactType.ORDER,
    ...                          {"$and": [{"type": "order"}, {"customer__segment": "vip"}]})
    >>> adapter = DurableRulesAdapter([EventRuleSet("demo@1", None, (rule,))])
    >>> [f.rule.id for f in adapter.evaluate("SO-1", [{"type": "order", "customer__segment": "vip"}]).firings]
    ['vip']
    >>> adapter.evaluate("SO-2", [{"type": "order", "customer__segment": "gold"}]).firings
    ()
    >>> adapter.live_states
    0
    """

    def __init__(self, rulesets: Sequence[EventRuleSet], actions: Mapping[str, HostAction] | None = None) -> None:
        actions = dict(actions or {})
        self.rules = {rule.key: rule for ruleset in rulesets for rule in ruleset.rules}
        missing = sorted({r.action for r in self.rules.values() if r.action and r.action not in actions})
        if missing:
            hints = [h for name in missing if (h := suggest(name, list(actions)))]
            raise UnknownActionError(f"event rules name host actions that were not given: {', '.join(missing)}"
                                     + (f" ({'; '.join(hints)})" if hints else ""))
        self._name = f"tarif_events_{next(_engine_ids)}"
        self._lock = threading.Lock()
        self._sids = itertools.count(1)
        self._live = 0
        definition: dict[str, Any] = {}
        for index, rule in enumerate(self.rules.values()):
            definition[f"r{index}"] = {"all": [{"m": rule.condition}],
                                       "run": _action(rule.key, actions.get(rule.action or ""))}
        self._empty = not definition
        definition["open"] = {"all": [{"m": {"type": _OPEN}}], "run": _opened}
        self._host = _QuietHost()
        self._host.register_rulesets({self._name: definition})

    @property
    def live_states(self) -> int:
        """States the engine holds right now (0 between evaluations)."""
        return self._live

    def evaluate(self, order_id: str, facts: Sequence[Mapping[str, Any]]) -> Evaluation:
        """Post ``facts`` (already encoded) for one order, read what fired, delete the state."""
        if self._empty or not facts:
            return Evaluation(order_id)
        with self._lock:
            sid = f"{order_id}#{next(self._sids)}"
            posted: dict[str, Mapping[str, Any]] = {}
            errors: list[tuple[str, str]] = []
            self._live += 1
            try:
                self._host.assert_fact(self._name, {"type": _OPEN, "id": f"{sid}:open", "sid": sid})
                for number, fact in enumerate(facts):
                    message = {**fact, "id": f"{sid}:{number}", "sid": sid}
                    posted[message["id"]] = fact
                    try:
                        self._host.assert_fact(self._name, message)
                    except durable_engine.MessageNotHandledException:
                        continue  # no rule looks at this fact
                state = self._state(sid)
            except Exception as exc:  # the engine's own failures, e.g. a full state table
                raise EventRuleError(order_id, f"the event engine failed: {type(exc).__name__}: {exc}") from exc
            finally:
                self._forget(sid)
                self._live -= 1
        pairs = dict.fromkeys((key, fact_id) for key, fact_id in state.get(_FIRED, ()))  # one per rule and fact
        firings = tuple(Firing(self.rules[key], posted[fact_id]) for key, fact_id in pairs)
        errors.extend((key, message) for key, message in state.get(_ERRORS, ()))
        if "exception" in state and not errors:
            errors.append(("engine", str(state["exception"]).split(", traceback")[0]))
        return Evaluation(order_id, firings, tuple(errors))

    def evaluate_many(self, batches: Iterable[tuple[str, Sequence[Mapping[str, Any]]]]) -> list[Evaluation]:
        """:meth:`evaluate` each (order id, facts) in turn; one order's error does not stop the others."""
        return [self.evaluate(order_id, facts) for order_id, facts in batches]

    def _state(self, sid: str) -> dict[str, Any]:
        return dict(self._host.get_state(self._name, sid))

    def _forget(self, sid: str) -> None:
        try:
            self._host.get_state(self._name, sid)
        except Exception:
            return  # the sentinel never landed: there is no state to delete
        self._host.delete_state(self._name, sid)


def _opened(c: Any) -> None:
    return None


def _action(key: str, host_action: HostAction | None) -> Callable[[Any], None]:
    def run(c: Any) -> None:
        fact = c.m._d
        c.s[_FIRED] = [*(c.s[_FIRED] or []), [key, fact["id"]]]
        if host_action is not None:
            try:
                host_action({k: v for k, v in fact.items() if k not in ("sid",)})
            except Exception as exc:  # recorded with the rule's name, then raised by the caller
                c.s[_ERRORS] = [*(c.s[_ERRORS] or []), [key, f"{type(exc).__name__}: {exc}"]]
    return run
