"""A fulfilment service on the sample rulesets, over the order service of ``tests/order_management``."""

from __future__ import annotations

from decimal import Decimal

import pytest

from order_management.fulfilment import (
    FULFILMENT_KINDS,
    DurableRulesAdapter,
    FulfilmentService,
    InMemoryFulfilmentRecords,
    TestGateway,
    event_rules_from,
    process_catalogue_from,
)
from rule_language import load_rulesets
from tests.order_management.fulfilment.samples import fulfilment_sources


class PromiserStock:
    """Stock levels read from (and returned to) the test promiser; one location."""

    def __init__(self, promiser) -> None:
        self.promiser = promiser
        self.restocked: list[tuple[str, str, Decimal]] = []

    def available(self, sku: str, location: str) -> Decimal:
        return self.promiser.stock.get(sku, Decimal(0))

    def restock(self, sku: str, location: str, quantity: Decimal) -> None:
        with self.promiser.lock:
            self.promiser.stock[sku] = self.promiser.stock.get(sku, Decimal(0)) + quantity
        self.restocked.append((sku, location, quantity))


@pytest.fixture(scope="session")
def fulfilment_bundle():
    return load_rulesets(fulfilment_sources(), FULFILMENT_KINDS)


@pytest.fixture
def records() -> InMemoryFulfilmentRecords:
    return InMemoryFulfilmentRecords()


@pytest.fixture
def gateway() -> TestGateway:
    return TestGateway()


@pytest.fixture
def sent() -> list:
    return []


@pytest.fixture
def stock(promiser) -> PromiserStock:
    return PromiserStock(promiser)


@pytest.fixture
def fulfilment(service, records, fulfilment_bundle, gateway, stock, sent) -> FulfilmentService:
    return FulfilmentService(
        orders=service,
        records=records,
        processes=process_catalogue_from(fulfilment_bundle),
        rules=DurableRulesAdapter(event_rules_from(fulfilment_bundle)),
        gateway=gateway,
        stock=stock,
        on_command=sent.append,
    )
