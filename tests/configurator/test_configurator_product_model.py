"""The ``product_model`` kind: authoring constructs, located errors, and the laptop example."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import configurator
from configurator import Configurator, ConflictError, ProductModel, VariableKind
from configurator.product_model import MAX_TABLE_PRODUCT
from rule_language import RulesetLoadError, load_rulesets, run_scenarios
from tests.configurator.configurator_helpers import brute_force_domains

REPO = Path(__file__).resolve().parents[2]
PRODUCTS = REPO / "rulesets" / "products"

HEADER = "kind: product_model\nname: demo\nversion: 1\n"


def load(text: str) -> ProductModel:
    bundle = load_rulesets([("demo.yaml", HEADER + text)], configurator.RULESET_KINDS)
    return bundle.get("demo").artefact  # type: ignore[no-any-return]


def problems(text: str) -> list[str]:
    with pytest.raises(RulesetLoadError) as caught:
        load(text)
    return [str(p) for p in caught.value.problems]


def test_the_kind_is_exported_for_the_loader() -> None:
    assert [k.name for k in configurator.RULESET_KINDS] == ["product_model"]


def test_laptop_scenarios_all_pass() -> None:
    sources = [(str(p), p.read_text()) for p in sorted(PRODUCTS.glob("*.yaml"))]
    bundle = load_rulesets(sources, configurator.RULESET_KINDS)
    outcomes = run_scenarios(bundle, configurator.RULESET_KINDS)
    assert outcomes and all(o.passed for o in outcomes), "\n".join(map(str, outcomes))


def test_conditional_and_arithmetic_rules_compile_to_exact_tables() -> None:
    model = load("""
options:
  engine: {values: [diesel, petrol]}
  gearbox: {values: [M5, M6, A8]}
attributes:
  width: {type: integer, min: 1, max: 5}
  depth: {type: decimal, min: 0.5, max: 3.0, step: 0.5}
constraints:
  - id: diesel-gearbox
    message: Diesels come with M6 or A8
    if: engine = 'diesel'
    then: gearbox in ['M6', 'A8']
  - id: footprint
    message: The footprint is at most 6 square units
    rule: width * depth <= 6
""")
    assert model.variable("depth").domain[0] == Decimal("0.5")
    session = Configurator(model).session()
    session.choose("engine", "diesel")
    assert session.valid_values("gearbox") == ("M6", "A8")
    session.choose("width", 4)
    assert session.valid_values("depth") == (Decimal("0.5"), Decimal("1.0"), Decimal("1.5"))
    with pytest.raises(ConflictError) as caught:
        session.choose("depth", Decimal("2.0"))
    assert [c.id for c in caught.value.explanation.constraints] == ["footprint"]
    expected = brute_force_domains(model, session.choices)
    assert {k: set(v) for k, v in session.valid_domains().items()} == expected


def test_components_expand_to_counted_copies_and_sum_over_present_ones() -> None:
    model = load("""
attributes:
  psu.watts: {type: integer, min: 10, max: 30, step: 10}
components:
  slot:
    min: 0
    max: 3
    attributes:
      power: {type: integer, min: 5, max: 15, step: 5}
    constraints:
      - id: no-hot-cards
        message: cards draw at most 10
        rule: power <= 10
constraints:
  - id: power-balance
    message: the power supply covers every card
    rule: sum(slot.power) <= psu.watts
""")
    assert model.variable("slot.count").kind is VariableKind.QUANTITY
    assert model.variable("slot[2].power").domain == (5, 10, 15, "n/a")
    session = Configurator(model).session()
    assert session.valid_values("slot[1].power") == (5, 10, "n/a")
    session.choose("psu.watts", 10)
    assert session.valid_values("slot.count") == (0, 1, 2)
    session.choose("slot.count", 2)
    assert session.valid_values("slot[1].power") == (5,)
    assert session.valid_values("slot[3].power") == ("n/a",)
    expected = brute_force_domains(model, session.choices)
    assert {k: set(v) for k, v in session.valid_domains().items()} == expected


def test_derived_attributes_get_the_formula_image_as_domain() -> None:
    model = load("""
attributes:
  a: {type: integer, min: 1, max: 3}
  b: {type: integer, min: 1, max: 3}
derived:
  area: {type: integer, formula: a * b}
constraints:
  - id: big-enough
    message: at least 4
    rule: area >= 4
""")
    assert model.variable("area").domain == (1, 2, 3, 4, 6, 9)
    assert model.variable("area").kind is VariableKind.DERIVED
    session = Configurator(model).session()
    assert session.valid_values("area") == (4, 6, 9)
    assert session.valid_values("a") == (2, 3)      # a = 1 would leave area <= 3
    session.choose("a", 2)
    assert session.valid_values("b") == (2, 3)
    assert session.valid_values("area") == (4, 6)


def test_tables_with_wildcards_requires_and_excludes() -> None:
    model = load("""
options:
  colour: {values: [red, blue, green], default: blue}
  trim: {values: [basic, sport]}
  roof: {values: [closed, open], not_applicable: closed}
constraints:
  - id: sport-colours
    message: sport trim comes in red or blue
    allowed:
      columns: [trim, colour]
      rows: [[basic, "*"], [sport, red], [sport, blue]]
  - id: no-green-open
    message: no green convertibles
    forbidden: {columns: [colour, roof], rows: [[green, open]]}
  - id: open-needs-sport
    message: the open roof needs sport trim
    requires: ["roof = 'open'", "trim = 'sport'"]
  - id: red-or-open
    message: red cars have closed roofs
    excludes: ["colour = 'red'", "roof = 'open'"]
""")
    assert model.variable("roof").not_applicable == "closed"
    session = Configurator(model).session()
    session.choose("roof", "open")
    assert session.valid_domains() == {"colour": ("blue",), "trim": ("sport",),
                                       "roof": ("open",)}


def test_compile_errors_are_located_and_all_reported_at_once() -> None:
    found = problems("""
options:
  engine: {values: [diesel, petrol]}
constraints:
  - id: typo
    message: m
    rule: engin = 'diesel'
  - id: bad-value
    message: m
    allowed: {columns: [engine], rows: [[electric]]}
""")
    assert len(found) == 2
    assert found[0].startswith("demo.yaml:10:11") and "did you mean `engine`" in found[0]
    assert found[1].startswith("demo.yaml:13:") and "'electric' is not a value of `engine`" \
        in found[1]


def test_a_constraint_has_exactly_one_form() -> None:
    found = problems("""
options:
  engine: {values: [diesel, petrol]}
constraints:
  - id: two-forms
    message: m
    rule: engine = 'diesel'
    requires: ["engine = 'diesel'", "engine = 'petrol'"]
""")
    assert any("exactly one of" in p and "['rule', 'requires']" in p for p in found)


def test_a_rule_reading_too_many_combinations_is_refused_with_a_hint() -> None:
    found = problems("""
attributes:
  a: {type: integer, min: 0, max: 999}
  b: {type: integer, min: 0, max: 999}
constraints:
  - id: huge
    message: m
    rule: a + b <= 1000
""")
    assert any(f"at most {MAX_TABLE_PRODUCT:,}" in p and "narrow" in p for p in found)


def test_attribute_ranges_must_fall_on_their_steps() -> None:
    found = problems("""
attributes:
  w: {type: decimal, min: 0.5, max: 1.2, step: 0.5}
""")
    assert any("whole number of steps" in p for p in found)


BALANCE = """
options:
  mode: {values: [eco, turbo]}
attributes:
  psu.watts: {type: integer, min: 10, max: 30, step: 10}
components:
  slot:
    max: 3
    attributes:
      power: {type: integer, min: 0, max: 15, step: 5}
constraints:
  - id: balance
    message: the power supply covers every card, turbo keeps 5 W in reserve
    rule: sum(slot.power) + (if mode = 'turbo' then 5 else 0) <= psu.watts
"""


def test_wide_resource_balances_compile_through_partial_sums_with_the_same_answers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Forcing the sympy/partial-sum route gives exactly the direct table's answers."""
    direct = load(BALANCE)
    monkeypatch.setattr("configurator.product_model.MAX_TABLE_PRODUCT", 60)
    decomposed = load(BALANCE)
    assert "sum(slot.power)" in [v.name for v in decomposed.variables]
    assert len(decomposed.constraint("balance").scope) == 3   # psu, mode, the sum
    for choices in ({}, {"psu.watts": 10}, {"psu.watts": 20, "mode": "turbo"},
                    {"slot.count": 3, "slot[1].power": 10}):
        expected = brute_force_domains(direct, choices)
        got = Configurator(decomposed).session()
        for name, value in choices.items():
            got.choose(name, value)
        domains = got.valid_domains()
        assert {k: set(domains[k]) for k in expected} == expected


def test_a_balance_over_many_copies_loads_without_enumerating_their_product() -> None:
    model = load("""
attributes:
  psu.watts: {type: integer, min: 100, max: 400, step: 100}
components:
  slot:
    max: 8
    attributes:
      power: {type: integer, min: 0, max: 100, step: 10}
constraints:
  - id: balance
    message: the power supply covers every card
    rule: sum(slot.power) <= psu.watts
""")
    session = Configurator(model).session()
    session.choose("psu.watts", 100)
    session.choose("slot.count", 8)
    for i in range(1, 8):
        session.choose(f"slot[{i}].power", 10)
    assert session.valid_values("slot[8].power") == (0, 10, 20, 30)
