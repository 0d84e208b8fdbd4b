"""Fixtures of the promising tests: the sample sourcing rules."""

from __future__ import annotations

import pytest

from order_management.promising import PromisingRules, promising_rules_from_yaml
from tests.order_management.promising.builders import SOURCING


@pytest.fixture(scope="session")
def rules() -> PromisingRules:
    return promising_rules_from_yaml(SOURCING.read_text(encoding="utf-8"), str(SOURCING))
