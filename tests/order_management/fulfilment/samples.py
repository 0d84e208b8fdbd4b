"""Where the sample fulfilment rulesets are, for the tests and the benchmark."""

from __future__ import annotations

from pathlib import Path

SHIPPED = Path(__file__).resolve().parents[3] / "rulesets" / "order"
LOCAL = Path(__file__).resolve().parent / "rulesets"
PATTERNS = ("process*.yaml", "events*.yaml")


def fulfilment_sources() -> list[tuple[str, str]]:
    """The sample process and event-rule files with their scenarios.

    They belong in ``rulesets/order/`` once the order layer registers the
    fulfilment kinds (until then the folder-wide loaders would refuse them), so
    they are read from there when present, else from beside these tests.
    """
    files = sorted(p for pattern in PATTERNS for p in SHIPPED.glob(pattern)) or sorted(
        p for pattern in PATTERNS for p in LOCAL.glob(pattern))
    return [(str(p), p.read_text(encoding="utf-8")) for p in files]
