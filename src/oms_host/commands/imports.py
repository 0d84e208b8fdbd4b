"""``tarif import FILE --policy POLICY``: import a batch of orders (JSON or CSV) into the host app's database.

Exit codes: 0 every order landed (or was already there), 1 some or all were
rejected (each problem is printed with its field path), 2 the file is missing
or unreadable.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from order_management import ErrorPolicy

from ._options import add_database_option, add_rulesets_option


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("import", help="import a batch of orders (JSON or CSV) with an error policy")
    parser.add_argument("file", metavar="FILE", help="a .json batch ({\"orders\": [...]}) or a .csv (one row a line)")
    parser.add_argument("--policy", choices=[p.value for p in ErrorPolicy], default=ErrorPolicy.REJECT_BATCH.value,
                        help="what a problem costs (default: reject_batch)")
    parser.add_argument("--actor", default="import:cli", help="who the order history names (default: import:cli)")
    add_database_option(parser)
    add_rulesets_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from oms_host.host import open_host
    from order_management import ImportFormatError, import_orders, parse_csv_batch, parse_json_batch

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"tarif import: cannot read {path}: {exc.strerror or exc}")
        return 2
    try:
        records = parse_csv_batch(text) if path.suffix.lower() == ".csv" else parse_json_batch(text)
    except ImportFormatError as exc:
        print(f"{path}: {exc}")
        return 2
    host = open_host(args.database, args.rulesets)
    try:
        report = import_orders(host.bus, records, ErrorPolicy(args.policy), args.actor)
    finally:
        host.close()
    for problem in report.problems:
        print(f"{path}: {problem}")
    for order_id in report.created:
        print(f"created {order_id}")
    print(f"{path}: {report.summary()}")
    return 0 if report.ok else 1
