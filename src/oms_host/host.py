"""Composing the host app: a database, the rulesets, and the order layer's message bus wired to them.

:func:`open_host` is what ``tarif serve``, ``tarif demo``, ``tarif import`` and
the tests call: it opens (and migrates) the database, loads the ruleset
folder, and builds the order layer's :class:`~order_management.MessageBus` over
the SQL unit of work (:class:`~oms_host.storage.SqlUnitOfWork`): every
route, form, CLI command and import row only builds a command and hands it to
``host.bus``. The configurator checks configured lines, promising reserves
supply in the same transaction as the order, and — when the bundle has
``process`` rulesets — fulfilment runs (payments go to the library's
``TestGateway`` until a real gateway is configured). Everything is passed in
or read from the environment here, once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from oms_host.configure import SerialisedProducts
from oms_host.kinds import all_kinds
from oms_host.storage import Database, OrderEvents, SqlCustomerDirectory, SqlReservationStore, SqlUnitOfWork
from oms_host.storage.fulfilment import SqlFulfilmentRecords
from oms_host.storage.schema import orders
from order_management import Clock, ConfiguratorProducts, Dependencies, MessageBus, OrderRecord, dependencies_from
from order_management import commands as cmd
from order_management.promising import SupplyPosition
from rule_language import Problem, RulesetBundle, RulesetLoadError, load_ruleset_dir

__all__ = ["Host", "SystemClock", "default_rulesets", "open_host", "wiring_problems"]


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


def default_rulesets() -> Path:
    """``TARIF_RULESETS``, else ``./rulesets``, else the sample rulesets next to the source tree."""
    if os.environ.get("TARIF_RULESETS"):
        return Path(os.environ["TARIF_RULESETS"])
    local = Path("rulesets")
    if local.is_dir():
        return local
    return Path(__file__).resolve().parents[2] / "rulesets"


@dataclass
class Host:
    """Everything a request handler or a command needs."""

    db: Database
    bundle: RulesetBundle
    customers: SqlCustomerDirectory
    supply: SqlReservationStore
    events: OrderEvents
    clock: Clock
    bus: MessageBus
    source: Path | None = None  # the ruleset folder, for reloading

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.db, self.clock.now)

    def order(self, order_id: str) -> OrderRecord:
        """An order as committed, for reading (a page, an API answer); opens no writing transaction."""
        return self.unit_of_work().orders.get(order_id)

    @property
    def deps(self) -> Dependencies:
        return self.bus.deps

    @property
    def fulfilment_on(self) -> bool:
        """Whether the rulesets define processes, so orders can go through fulfilment."""
        return self.bus.deps.processes is not None

    @property
    def records(self) -> SqlFulfilmentRecords:
        """Fulfilment records for reading (pages, API details); changes go through the bus."""
        return SqlFulfilmentRecords.on(self.db)

    @property
    def configurable(self) -> dict[str, str]:
        """Configurable SKUs and their product model, as the product catalogs declare them."""
        return configurable_skus(self.bundle)

    def put_supply(self, positions: list[SupplyPosition]) -> None:
        """Set the supply (on hand, receipts, lead time) of each position's item and location."""
        for position in positions:
            self.supply.put_supply(position)

    def release_orphaned_reservations(self, older_than: dt.timedelta = dt.timedelta(minutes=10)) -> list[str]:
        """Give back reservations whose order was never saved (the process died in between).

        Capture reserves, then saves the order; a crash between the two leaves
        a reservation (keyed by the order id) with no order. Only reservations
        older than ``older_than`` are considered, so a capture in flight in
        another process is never touched. Returns the ids released.
        """
        candidates = self.supply.made_before(self.clock.now() - older_than)
        if not candidates:
            return []
        with self.db.read() as connection:
            saved = set(connection.execute(sa.select(orders.c.order_id).where(
                orders.c.order_id.in_(candidates))).scalars())
        released = []
        for reservation_id in candidates:
            if reservation_id not in saved:
                with contextlib.suppress(LookupError):
                    self.supply.release(reservation_id)
                    released.append(reservation_id)
        return released

    def reload_rulesets(self, rulesets: str | Path | None = None) -> RulesetBundle:
        """Load the ruleset folder again and switch every request after this one to it.

        A folder with errors raises :class:`~rule_language.RulesetLoadError` (every
        problem located) and changes nothing; requests in flight finish on the old rules.
        That holds for every failure on the way, not only the loader's: a folder
        that cannot be read, a catalog naming a product model that is not loaded,
        an approval no user may give, or anything the wiring refuses
        (see :func:`wiring_problems`). Only when all of it succeeded are the bundle
        and the bus swapped, together.
        """
        folder = Path(rulesets or self.source or default_rulesets())
        try:
            bundle = load_ruleset_dir(folder, all_kinds())
        except RulesetLoadError:
            raise
        except (OSError, ValueError) as exc:  # a folder gone, unreadable, or not a folder of rulesets
            raise RulesetLoadError([Problem(str(folder), 1, 1, f"the ruleset folder cannot be read: {exc}")]) \
                from None
        fresh = _wire(self.db, bundle, self.clock, self.customers, self.supply, folder)
        self.bundle, self.bus = bundle, fresh.bus
        return bundle

    def maintain(self) -> dict[str, int]:
        """The periodic chores: release orphaned reservations, then scan open orders for jeopardy."""
        done = {"orphans_released": len(self.release_orphaned_reservations())}
        if self.fulfilment_on:
            report = self.bus.handle(cmd.ScanJeopardy(actor="system:jeopardy"))
            done.update(orders_scanned=report.orders, alerts_raised=len(report.raised),
                        alerts_cleared=len(report.cleared), rule_errors=len(report.errors))
        return done

    def close(self) -> None:
        self.db.dispose()


def open_host(database_url: str | None = None, rulesets: str | Path | None = None, *,
              clock: Clock | None = None, migrate: bool = True, bundle: RulesetBundle | None = None) -> Host:
    """Open the database (migrating it unless told not to) and wire the order layer to it."""
    db = Database(database_url)
    if migrate:
        db.migrate()
    source = Path(rulesets) if rulesets else (None if bundle is not None else default_rulesets())
    if bundle is None:
        bundle = load_ruleset_dir(source or default_rulesets(), all_kinds())
    clock = clock or SystemClock()
    customers = SqlCustomerDirectory(db)
    supply = SqlReservationStore(db, clock.now)
    host = _wire(db, bundle, clock, customers, supply, source)
    host.source = source
    return host


def check_approval_roles(deps: Dependencies) -> None:
    """Every role an ``approvals`` rule asks for is one some host role acts in; else the host does not start.

    An approval nobody may give would leave its orders waiting for ever.
    """
    from oms_host.auth import APPROVAL_ROLES
    from order_management.fulfilment import RuleSection

    if deps.event_rules is None:
        return
    actable = frozenset().union(*APPROVAL_ROLES.values())
    for rule in deps.event_rules.rules.values():
        role = rule.payload.get("role") if rule.section == RuleSection.APPROVAL else None
        if role is not None and role not in actable:
            raise ValueError(f"approval rule {rule.key} asks for a {role!r}, a role no host user acts in "
                             f"(they act in: {', '.join(sorted(actable))})")


def configurable_skus(bundle: RulesetBundle) -> dict[str, str]:
    """SKU → product model, from the ``product_model`` of the catalogs' products.

    Raises :class:`LookupError` naming the SKU when a catalog points at a
    product model the bundle does not have.
    """
    models = {r.name for r in bundle.of_kind("product_model")}
    found: dict[str, str] = {}
    for catalog in bundle.of_kind("product_catalog"):
        for product in catalog.artefact.products.values():
            if product.product_model is None:
                continue
            if product.product_model not in models:
                raise LookupError(f"{catalog.file}: {product.sku} names product model {product.product_model!r}, "
                                  f"which is not loaded (models: {', '.join(sorted(models)) or 'none'})")
            found[product.sku] = product.product_model
    return found


def wiring_problems(bundle: RulesetBundle) -> list[Problem]:
    """What the host needs of a bundle beyond each kind's own checks, every problem located.

    A catalog product naming a product model the bundle does not have, and an
    ``approvals`` rule asking for a role no host user acts in (its orders would
    wait for ever), are reported at the line of the offending value.
    """
    from oms_host.auth import APPROVAL_ROLES

    problems: list[Problem] = []
    models = {r.name for r in bundle.of_kind("product_model")}
    for catalog in bundle.of_kind("product_catalog"):
        for index, product in enumerate(catalog.model.products):
            if product.product_model is not None and product.product_model not in models:
                problems.append(Problem.at(
                    catalog.document.location(("products", index, "product_model")),
                    f"{product.sku} names product model {product.product_model!r}, which is not loaded",
                    hint=f"models: {', '.join(sorted(models)) or 'none'}"))
    actable = frozenset().union(*APPROVAL_ROLES.values())
    for rules in bundle.of_kind("event_rules"):
        for index, rule in enumerate(rules.model.approvals):
            if rule.role not in actable:
                problems.append(Problem.at(
                    rules.document.location(("approvals", index, "role")),
                    f"approval rule {rule.id!r} asks for a {rule.role!r}, a role no host user acts in",
                    hint=f"they act in: {', '.join(sorted(actable))}"))
    return problems


def _wire(db: Database, bundle: RulesetBundle, clock: Clock, customers: SqlCustomerDirectory,
          supply: SqlReservationStore, folder: Path | None = None) -> Host:
    """The host over ``bundle``; raises :class:`RulesetLoadError` for anything the bundle cannot be wired with."""
    problems = wiring_problems(bundle)
    if problems:
        raise RulesetLoadError(problems)
    try:
        configurable_skus(bundle)  # a catalog naming a product model that is not loaded fails here, not on a page
        deps = dependencies_from(bundle, customers, clock,
                                 products=SerialisedProducts(ConfiguratorProducts(bundle)))
        check_approval_roles(deps)
    except RulesetLoadError:
        raise
    except (ValueError, LookupError, TypeError, ArithmeticError) as exc:
        # A check a kind does not make yet: still a located problem (the folder), never a 500.
        raise RulesetLoadError([Problem(str(folder or "<rulesets>"), 1, 1,
                                        f"the rulesets cannot be put to work: {exc}")]) from None
    bus = MessageBus(lambda: SqlUnitOfWork(db, clock.now), deps)
    return Host(db, bundle, customers, supply, OrderEvents(db), clock, bus)
