"""The ruleset kinds the configurator contributes to the loader (``product_model``)."""

from __future__ import annotations

from configurator.product_model import ProductModelFile, compile_product_model
from configurator.scenarios import run_scenario
from rule_language import RulesetKind

#: A constant, not a factory: the loader recognises a kind by identity.
RULESET_KINDS: tuple[RulesetKind, ...] = (
    RulesetKind(name="product_model", model=ProductModelFile,
                compile=compile_product_model, run_scenario=run_scenario),
)
