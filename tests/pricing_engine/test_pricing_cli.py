"""`tarif price RULESET_DIR ORDER.json [--explain]` over the sample rulesets and example orders."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from oms_host.cli import main
from tests.conftest import REPO_ROOT

RULESETS = str(REPO_ROOT / "rulesets")
EXAMPLES = sorted((REPO_ROOT / "examples" / "orders").glob("*.json"))


def test_the_examples_cover_the_issue_list():
    names = {p.stem for p in EXAMPLES}
    assert {"configured-bike", "tiered-bottles", "promotion", "subscription", "jpy-order",
            "tax-included"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_order_prices_as_json(path, capsys):
    assert main(["price", RULESETS, str(path)]) == 0
    out = json.loads(capsys.readouterr().out, parse_float=Decimal)
    assert out["lines"] and Decimal(out["totals"]["gross"]) == sum(Decimal(ln["gross"]) for ln in out["lines"])


def test_explain_prints_a_readable_waterfall(capsys):
    assert main(["price", RULESETS, str(REPO_ROOT / "examples/orders/promotion.json"), "--explain"]) == 0
    out = capsys.readouterr().out
    assert "discount: summer-helmets" in out
    assert "order_discount: spend-500-save-5" in out
    assert "REQUIRES APPROVAL" in out
    assert "gross (due today)" in out


def test_the_tax_included_jpy_example_keeps_its_gross(capsys):
    assert main(["price", RULESETS, str(REPO_ROOT / "examples/orders/tax-included.json")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["totals"] == {**out["totals"], "gross": "20880", "tax": "1880", "net": "19000"}


def test_as_of_on_the_command_line_overrides_the_order(capsys):
    order = str(REPO_ROOT / "examples/orders/promotion.json")
    assert main(["price", RULESETS, order, "--as-of", "2026-02-01"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["as_of"] == "2026-02-01" and not out["promotions"]


def test_a_bad_order_is_reported_with_its_field_path(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "x", "currency": "EUR", "lines": [{"id": "1", "sku": "NOPE"}], "as_of": "2026-01-01"}')
    assert main(["price", RULESETS, str(bad)]) == 1
    assert "lines.0.sku: no price list in force prices SKU 'NOPE'" in capsys.readouterr().out
    invalid = tmp_path / "invalid.json"
    invalid.write_text('{"id": "x", "currency": "EURO", "lines": []}')
    assert main(["price", RULESETS, str(invalid)]) == 1
    out = capsys.readouterr().out
    assert "currency" in out and "lines" in out


def test_missing_files_exit_with_2(tmp_path, capsys):
    assert main(["price", RULESETS, str(tmp_path / "none.json")]) == 2
    assert main(["price", str(tmp_path / "nowhere"), str(EXAMPLES[0])]) == 2


def test_explain_shows_the_subscription_schedule(capsys):
    assert main(["price", RULESETS, str(REPO_ROOT / "examples/orders/subscription.json"), "--explain"]) == 0
    out = capsys.readouterr().out
    assert "recurring: seat per month" in out
    assert "first period 19.35 (1/31 days) from 2025-05-31, next billing 2025-06-01; trial until 2025-05-30" in out
    assert "recurring per month (gross)" in out
