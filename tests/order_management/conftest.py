"""A message bus on the sample rulesets, an in-memory store with real supply in Lyon, and a fixed clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from oms_host.kinds import all_kinds
from order_management import FixedClock, InMemoryStore, MessageBus, bootstrap_in_memory
from order_management.fulfilment import TestGateway
from rule_language import load_ruleset_dir
from tests.order_management.support import CUSTOMERS, NOW, SUPPLY, Outbox

RULESETS = Path(__file__).resolve().parents[2] / "rulesets"


@pytest.fixture(scope="session")
def bundle():
    return load_ruleset_dir(RULESETS, all_kinds())


@pytest.fixture
def bus(bundle) -> MessageBus:
    return bootstrap_in_memory(bundle, now=NOW, customers=CUSTOMERS, supply=SUPPLY)


@pytest.fixture
def store(bus) -> InMemoryStore:
    return bus.store


@pytest.fixture
def clock(bus) -> FixedClock:
    return bus.deps.clock


@pytest.fixture
def gateway(bus) -> TestGateway:
    return bus.deps.gateway


@pytest.fixture
def sent(bus) -> list:
    """The commands sent to the world (shipment and pick requests, their compensations), in order."""
    return Outbox(bus).commands
