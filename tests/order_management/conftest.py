"""An order service on the sample rulesets, in-memory storage and a fixed clock."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from oms_host.kinds import all_kinds
from order_management import (
    Address,
    Customer,
    FixedClock,
    InMemoryCustomers,
    InMemoryStore,
    OrderService,
    Party,
    RulesetPricer,
    order_rules_from,
)
from rule_language import load_ruleset_dir
from tests.order_management.fakes import StockPromiser

RULESETS = Path(__file__).resolve().parents[2] / "rulesets"
NOW = dt.datetime(2025, 7, 15, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def bundle():
    return load_ruleset_dir(RULESETS, all_kinds())


def _party(name: str, country: str, city: str) -> Party:
    return Party(name=name, address=Address(country=country, city=city))


CUSTOMERS = [
    Customer(id="C-100", name="Vélo Lyon", segment="gold", bill_to=_party("Vélo Lyon SARL", "FR", "Lyon"),
             ship_to=_party("Vélo Lyon – shop", "FR", "Lyon")),
    Customer(id="C-200", name="Radhaus Köln", segment="standard", credit_limit=Decimal("1000.00"),
             open_balance=Decimal("800.00"), ship_to=_party("Radhaus", "DE", "Köln")),
    Customer(id="C-300", name="Walk-in", segment="standard"),
    Customer(id="C-400", name="Blocked Ltd", blocked=True, ship_to=_party("Blocked", "FR", "Paris")),
]


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def promiser() -> StockPromiser:
    return StockPromiser({"BIKE-TRAIL": 3, "HELMET-AERO": 50, "LOCK-U": 50, "BOTTLE": 500, "BIKE-CITY": 0})


@pytest.fixture
def service(bundle, store, promiser) -> OrderService:
    return OrderService(
        rules=order_rules_from(bundle),
        customers=InMemoryCustomers(CUSTOMERS),
        unit_of_work=store.unit_of_work,
        clock=FixedClock(NOW),
        pricer=RulesetPricer(bundle),
        promiser=promiser,
    )
