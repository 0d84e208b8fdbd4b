"""Reloading rulesets on a running host: a broken folder is refused whole, located, and changes nothing.

``Host.reload_rulesets`` backs ``POST /api/admin/reload-rulesets``, which
answers 422 with the problems of a :class:`~rule_language.RulesetLoadError`;
these tests hold the host to raising only that, whatever is wrong.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from oms_host.host import Host, open_host
from order_management import FixedClock
from rule_language import RulesetLoadError
from tests.oms_host.conftest import NOW, RULESETS

HOSTILE = Path(__file__).resolve().parents[1] / "hostile" / "rulesets"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    copy = tmp_path / "rulesets"
    shutil.copytree(RULESETS, copy)
    return copy


@pytest.fixture
def host(tmp_path: Path, folder: Path) -> Iterator[Host]:
    opened = open_host(f"sqlite:///{tmp_path / 'reload.sqlite3'}", folder, clock=FixedClock(NOW))
    yield opened
    opened.close()


def refused(host: Host, folder: Path | None = None) -> RulesetLoadError:
    """Reload, expecting a refusal that leaves the host's bundle and bus exactly as they were."""
    bundle, bus = host.bundle, host.bus
    with pytest.raises(RulesetLoadError) as raised:
        host.reload_rulesets(folder)
    assert host.bundle is bundle and host.bus is bus
    return raised.value


def edit(path: Path, change: Callable[[str], str]) -> None:
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")


def test_a_broken_folder_is_refused_with_every_problem_located_and_the_old_rules_stay(host, folder) -> None:
    shutil.copy(HOSTILE / "billion_laughs.yaml", folder / "laughs.yaml")
    shutil.copy(HOSTILE / "not_utf8.yaml", folder / "latin1.yaml")
    edit(folder / "pricing" / "catalog.yaml", lambda text: text + "\n  - {sku: [unclosed\n")
    error = refused(host)
    files = {Path(p.file).name for p in error.problems}
    assert {"laughs.yaml", "latin1.yaml", "catalog.yaml"} <= files
    assert all(p.line >= 1 and p.column >= 1 for p in error.problems)
    assert host.bundle.get("laptop")  # the old rules still answer


def test_a_catalog_naming_a_missing_model_and_an_approval_nobody_gives_are_both_reported(host, folder) -> None:
    edit(folder / "pricing" / "catalog.yaml", lambda text: text.replace("product_model: trail-bike",
                                                                         "product_model: tandem"))
    edit(folder / "order" / "events.yaml", lambda text: text.replace("role: sales_director", "role: board"))
    error = refused(host)
    by_file = {Path(p.file).name: p for p in error.problems}
    catalog, events = by_file["catalog.yaml"], by_file["events.yaml"]
    assert "'tandem', which is not loaded" in catalog.message and catalog.line == 10
    assert "'board', a role no host user acts in" in events.message and events.line == 35


def test_a_folder_that_is_gone_is_a_load_error_too(host, tmp_path) -> None:
    error = refused(host, tmp_path / "nowhere")
    assert "cannot be read" in error.problems[0].message


def test_a_good_folder_replaces_the_rules(host, folder) -> None:
    old = host.bundle
    edit(folder / "pricing" / "catalog.yaml", lambda text: text.replace("product_model: trail-bike",
                                                                         "product_model: tandem"))
    refused(host)
    edit(folder / "pricing" / "catalog.yaml", lambda text: text.replace("product_model: tandem",
                                                                         "product_model: trail-bike"))
    assert host.reload_rulesets() is host.bundle is not old
