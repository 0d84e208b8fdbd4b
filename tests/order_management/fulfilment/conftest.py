"""The sample fulfilment rulesets on their own (the bus of ``tests/order_management`` loads them with the rest)."""

from __future__ import annotations

import pytest

from order_management.fulfilment import FULFILMENT_KINDS
from rule_language import load_rulesets
from tests.order_management.fulfilment.samples import fulfilment_sources


@pytest.fixture(scope="session")
def fulfilment_bundle():
    return load_rulesets(fulfilment_sources(), FULFILMENT_KINDS)
