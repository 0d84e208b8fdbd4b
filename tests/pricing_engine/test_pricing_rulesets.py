"""Bad pricing rulesets fail at load, every problem located as file:line:col."""

from __future__ import annotations

import textwrap

import pytest

from pricing_engine import RULESET_KINDS
from rule_language import RulesetLoadError, load_rulesets


def load(*files: tuple[str, str]):
    return load_rulesets([(name, textwrap.dedent(text)) for name, text in files], RULESET_KINDS)


def problems(*files: tuple[str, str]) -> list[str]:
    with pytest.raises(RulesetLoadError) as info:
        load(*files)
    return [str(p).splitlines()[0] for p in info.value.problems if p.severity == "error"]


BASE = ("base.yaml", """\
    kind: price_list
    name: base
    version: 1
    currency: EUR
    entries:
      - {sku: A, price: 10.00}
    """)


def test_a_price_list_based_on_itself_is_reported_at_based_on():
    found = problems(("self.yaml", """\
        kind: price_list
        name: loop
        version: 1
        currency: EUR
        based_on: loop
        formula: "base_price * 0.9"
        """))
    assert found == ["self.yaml:5:11: price list `loop` is based on itself"]


def test_a_cycle_of_derived_lists_is_reported_on_every_member():
    found = problems(
        ("a.yaml", "kind: price_list\nname: a\nversion: 1\ncurrency: EUR\nbased_on: b\n"),
        ("b.yaml", "kind: price_list\nname: b\nversion: 1\ncurrency: EUR\nbased_on: c\n"),
        ("c.yaml", "kind: price_list\nname: c\nversion: 1\ncurrency: EUR\nbased_on: a\n"),
    )
    assert found == [
        "a.yaml:5:11: derived price lists form a cycle: a → b → c → a",
        "b.yaml:5:11: derived price lists form a cycle: a → b → c → a",
        "c.yaml:5:11: derived price lists form a cycle: a → b → c → a",
    ]


def test_an_unknown_base_list_gets_a_suggestion():
    with pytest.raises(RulesetLoadError) as info:
        load(BASE, ("d.yaml", "kind: price_list\nname: d\nversion: 1\ncurrency: EUR\nbased_on: bsae\n"))
    (p,) = info.value.problems
    assert (p.file, p.line, p.column, p.message) == ("d.yaml", 5, 11, "unknown price list `bsae`")
    assert p.hint == "did you mean `base`?"


def test_a_derived_list_in_another_currency_is_refused():
    found = problems(BASE, ("usd.yaml", """\
        kind: price_list
        name: usd
        version: 1
        currency: USD
        based_on: base
        """))
    assert found == ["usd.yaml:4:11: a derived list must be in its base's currency: "
                     "`base` is in EUR, this list in USD"]


def test_tier_gaps_and_overlaps_are_each_located_at_their_tier():
    found = problems(("tiers.yaml", """\
        kind: price_list
        name: tiers
        version: 1
        currency: EUR
        entries:
          - sku: A
            tiers:
              - {from: 1, to: 5, unit_price: 7.00}
              - {from: 7, to: 10, unit_price: 6.50}
              - {from: 10, unit_price: 6.00}
        """))
    assert found == [
        "tiers.yaml:9:9: tier table: gap: tier 1 ends at 5, so this tier must start at 6, not 7",
        "tiers.yaml:10:9: tier table: overlap: tier 2 ends at 10, so this tier must start at 11, not 10",
    ]


def test_a_tax_without_a_rate_is_refused_with_a_hint():
    with pytest.raises(RulesetLoadError) as info:
        load(("vat.yaml", """\
            kind: tax_rules
            name: vat
            version: 1
            taxes:
              - {id: de-vat, country: DE, rate: 19}
              - {id: de-mystery, country: DE}
            """))
    (p,) = info.value.problems
    assert (p.line, p.column, p.message) == (6, 5, "tax 'de-mystery' has no rate")
    assert "rate" in (p.hint or "")


def test_every_problem_of_a_price_list_is_reported_at_once():
    found = problems(("many.yaml", """\
        kind: price_list
        name: many
        version: 1
        currency: EUR
        formula: "base_price"
        entries:
          - {sku: A, price: 1.00, tiers: [{from: 1, unit_price: 1.00}]}
          - {sku: B, price: 1.00, unit: parsec}
          - {sku: C, price: 1.00}
          - {sku: C, price: 2.00, min_quantity: 10}
          - {sku: D, price: 1.00, condition: "line.quantty > 2"}
        """))
    assert found[0] == "many.yaml:5:10: `formula` only applies to a derived list (one with `based_on`)"
    assert found[1] == "many.yaml:7:5: an entry needs exactly one of `price`, `tiers` or `package` " \
                       "(found price, tiers)"
    assert found[2] == "many.yaml:8:33: unknown unit 'parsec'"
    assert found[3].startswith("many.yaml:10:5: unreachable entry: the entry on line 9")
    assert found[4].startswith("many.yaml:11:")
    assert "line.quantty" in found[4]
    assert len(found) == 5


def test_a_bad_rule_language_formula_points_inside_the_formula():
    found = problems(BASE, ("gold.yaml", """\
        kind: price_list
        name: gold
        version: 1
        currency: EUR
        based_on: base
        formula: "base_prise * 0.9"
        """))
    assert len(found) == 1
    assert found[0].startswith("gold.yaml:6:11: unknown symbol `base_prise`")


def test_unknown_fields_are_located_with_a_suggestion():
    with pytest.raises(RulesetLoadError) as info:
        load(("x.yaml", "kind: price_list\nname: x\nversion: 1\ncurrency: EUR\nentries:\n"
                        "  - {sku: A, prise: 1.00}\n"))
    (p,) = info.value.problems
    assert (p.line, p.message, p.hint) == (6, "unknown field `prise`", "did you mean `price`?")


def test_discount_rules_report_missing_values_and_bad_percentages():
    found = problems(("promo.yaml", """\
        kind: discount_rules
        name: promo
        version: 1
        discounts:
          - {id: p1, type: percent}
          - {id: p2, type: percent, value: 150}
          - {id: p3, type: amount, value: 5.00}
          - {id: p4, type: buy_x_get_y, buy: 2}
          - {id: p5, type: cheapest_free}
          - {id: p6, type: bundle_price, amounts: {EUR: 10.00}}
          - {id: p1, type: percent, value: 5, condition: "line.sku"}
        """))
    assert found == [
        "promo.yaml:5:5: a percent discount needs a `value` (or a `table`)",
        "promo.yaml:6:36: a percentage must be within 0–100, got 150",
        "promo.yaml:7:35: a money value needs the file's `currency`",
        "promo.yaml:8:5: a buy_x_get_y discount needs `buy` and `get`",
        "promo.yaml:9:5: a cheapest_free discount needs `every` (e.g. 3 for 3-for-2)",
        "promo.yaml:10:5: a bundle_price discount needs `components`",
        "promo.yaml:11:10: duplicate discount id 'p1' (first on line 5)",
        found[7],
    ]
    assert found[7] == "promo.yaml:11:51: expected a boolean, but this is a string"


def test_an_exclusive_group_across_stages_is_refused():
    found = problems(("promo.yaml", """\
        kind: discount_rules
        name: promo
        version: 1
        discounts:
          - {id: a, type: percent, value: 5, stage: 10, exclusive_group: g}
          - {id: b, type: percent, value: 5, stage: 20, exclusive_group: g}
        """))
    assert len(found) == 1
    assert found[0].startswith("promo.yaml:6:66: exclusive group 'g' is used in stage 10 and stage 20")


def test_services_need_prices_periods_and_sound_usage_tiers():
    found = problems(("svc.yaml", """\
        kind: service_charges
        name: svc
        version: 1
        services:
          - sku: S
            align_to_calendar: true
            charges:
              - {id: fee, kind: recurring, price: {EUR: 10}}
              - {id: odd, kind: recurring, period: month, every: 5, price: {EUR: 1}}
              - {id: calls, kind: usage, period: month, tiers: {EUR: [{from: 2, unit_price: 1}]}}
              - {id: nothing, kind: one_time}
        """))
    assert found == [
        "svc.yaml:8:9: a recurring charge needs a `period` (day, week, month, year)",
        "svc.yaml:9:58: a 5 months period cannot align to the calendar",
        "svc.yaml:10:63: tier table: the first tier must start at 1, not 2",
        "svc.yaml:11:9: charge 'nothing' has no price",
    ]


def test_bundle_cycles_in_the_catalog_are_refused():
    found = problems(("cat.yaml", """\
        kind: product_catalog
        name: cat
        version: 1
        products:
          - {sku: A, components: [{sku: B}]}
          - {sku: B, components: [{sku: A}]}
        """))
    assert found == ["cat.yaml:6:26: bundle cycle: A → B → A"]


def test_the_sample_rulesets_load_cleanly():
    from rule_language import load_ruleset_dir
    from tests.conftest import REPO_ROOT

    bundle = load_ruleset_dir(REPO_ROOT / "rulesets" / "pricing", RULESET_KINDS)
    assert not bundle.warnings
    assert {r.kind for r in bundle.rulesets} >= {k.name for k in RULESET_KINDS}


def test_a_sku_in_two_catalogs_at_once_is_refused():
    found = problems(
        ("c1.yaml", "kind: product_catalog\nname: c1\nversion: 1\nproducts:\n  - {sku: A}\n"),
        ("c2.yaml", "kind: product_catalog\nname: c2\nversion: 1\nproducts:\n  - {sku: A}\n"))
    assert found == ["c2.yaml:5:11: SKU 'A' is also defined in c1.yaml"]
