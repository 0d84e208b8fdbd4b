"""Fixtures for the configurator tests: the shared Renault models, loaded once."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from configurator import ProductModel, import_clib, import_xcsp
from tests.configurator.configurator_helpers import BR4CP, MEGANE, need_data


@pytest.fixture(scope="session")
def renault() -> Mapping[str, ProductModel]:
    """The three BR4CP models, each imported on first use."""
    need_data(BR4CP)

    class _Models(dict):  # type: ignore[type-arg]
        def __missing__(self, size: str) -> ProductModel:
            self[size] = import_xcsp((BR4CP / f"renault_{size}.xml").read_text(),
                                     source=f"renault_{size}.xml")
            return self[size]  # type: ignore[no-any-return]

    return _Models()


@pytest.fixture(scope="session")
def megane() -> ProductModel:
    """The CLib Megane relaxation (111 of 113 tables)."""
    need_data(MEGANE)
    rules = sorted((MEGANE / "rules").glob("*.pm"))
    return import_clib((MEGANE / "domains.txt").read_text(),
                       [(p.stem, p.read_text()) for p in rules])
