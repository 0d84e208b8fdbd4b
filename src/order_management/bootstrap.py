"""Wiring the order layer: rulesets, storage and clock in, a ready :class:`MessageBus` out.

The host app calls :func:`bootstrap` with its SQL unit of work; an embedding
app or a test calls :func:`bootstrap_in_memory`. Both build the same
:class:`~order_management.handlers.Dependencies` from a ruleset bundle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from rule_language import RulesetBundle

from .configuration import ConfiguratorProducts
from .fulfilment.durable_adapter import DurableRulesAdapter
from .fulfilment.event_rules import event_rules_from
from .fulfilment.payments import PaymentGateway, TestGateway
from .fulfilment.process import process_catalogue_from
from .handlers import Dependencies
from .memory import FixedClock, InMemoryCustomers
from .messagebus import MessageBus
from .model import Customer
from .ports import Clock, CustomerDirectory, ProductChecker
from .pricing import RulesetPricer
from .promising import PromisingRules, SupplyPosition
from .rules import order_rules_from
from .unit_of_work import InMemoryStore, UnitOfWork

__all__ = ["bootstrap", "bootstrap_in_memory", "dependencies_from", "sourcing_rules"]


def sourcing_rules(bundle: RulesetBundle) -> PromisingRules:
    """The bundle's one ``sourcing`` ruleset (where the shop ships from, how it promises)."""
    found = bundle.of_kind("sourcing")
    if len(found) != 1:
        raise ValueError(f"the order layer needs exactly one `sourcing` ruleset in the bundle, found {len(found)}")
    return found[0].artefact


def dependencies_from(bundle: RulesetBundle, customers: CustomerDirectory, clock: Clock, *,
                      gateway: PaymentGateway | None = None, products: ProductChecker | None = None,
                      ) -> Dependencies:
    """The order layer's collaborators from a ruleset bundle; fulfilment runs when it has ``process`` rulesets."""
    has_processes = bool(bundle.of_kind("process"))
    return Dependencies(
        rules=order_rules_from(bundle), customers=customers, clock=clock, pricer=RulesetPricer(bundle),
        sourcing=sourcing_rules(bundle), products=products or ConfiguratorProducts(bundle),
        processes=process_catalogue_from(bundle) if has_processes else None,
        event_rules=DurableRulesAdapter(event_rules_from(bundle)) if bundle.of_kind("event_rules") else None,
        gateway=gateway if gateway is not None else (TestGateway() if has_processes else None),
    )


def bootstrap(deps: Dependencies, unit_of_work: Callable[[], UnitOfWork]) -> MessageBus:
    return MessageBus(unit_of_work, deps)


def bootstrap_in_memory(bundle: RulesetBundle | None = None, *, now: dt.datetime,
                        customers: Iterable[Customer] = (), supply: Iterable[SupplyPosition] = (),
                        ) -> MessageBus:
    """A bus over an in-memory store, a fixed clock and ``bundle`` (by default the sample rulesets, if found).

    The store is ``bus.store``; the clock is ``bus.deps.clock`` (a :class:`FixedClock`).
    """
    if bundle is None:
        bundle = _sample_bundle()
    store = InMemoryStore(supply)
    deps = dependencies_from(bundle, InMemoryCustomers(customers), FixedClock(now))
    return MessageBus(store.unit_of_work, deps, store=store)


def _sample_bundle() -> RulesetBundle:
    from pathlib import Path

    import configurator
    import pricing_engine
    from rule_language import load_ruleset_dir

    from . import RULESET_KINDS

    folder = Path(__file__).resolve().parents[2] / "rulesets"
    return load_ruleset_dir(folder, (*configurator.RULESET_KINDS, *pricing_engine.RULESET_KINDS, *RULESET_KINDS))
