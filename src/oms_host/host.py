"""Composing the host app: a database, the rulesets, and the order layer wired to them.

:func:`open_host` is what ``tarif serve``, ``tarif demo``, ``tarif import`` and
the tests call: it opens (and migrates) the database, loads the ruleset
folder, and builds an :class:`~order_management.OrderService` on SQL storage,
with the configurator checking configured lines and promising (the bundle's
``sourcing`` rules) reserving supply in the SQL reservation store; when the
bundle has ``process`` rulesets, a :class:`~order_management.fulfilment.FulfilmentService`
on SQL records runs fulfilment (payments go to the library's ``TestGateway``
until a real gateway is configured).
Everything is passed in or read from the environment here, once.
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
from order_management import (
    Clock,
    ConfiguratorProducts,
    OrderService,
    RulesetPricer,
    SupplyPromiser,
    order_rules_from,
)
from order_management.fulfilment import (
    DurableRulesAdapter,
    FulfilmentService,
    SupplyStockLevels,
    TestGateway,
    event_rules_from,
    process_catalogue_from,
)
from order_management.promising import PromisingRules, SupplyPosition
from rule_language import RulesetBundle, load_ruleset_dir

__all__ = ["Host", "SystemClock", "default_rulesets", "open_host", "sourcing_rules"]


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
    service: OrderService
    fulfilment: FulfilmentService | None = None
    source: Path | None = None  # the ruleset folder, for reloading

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.db)

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
        """
        bundle = load_ruleset_dir(rulesets or self.source or default_rulesets(), all_kinds())
        fresh = _wire(self.db, bundle, self.clock, self.customers, self.supply)
        self.bundle, self.service, self.fulfilment = bundle, fresh.service, fresh.fulfilment
        return bundle

    def maintain(self) -> dict[str, int]:
        """The periodic chores: release orphaned reservations, then scan open orders for jeopardy."""
        done = {"orphans_released": len(self.release_orphaned_reservations())}
        if self.fulfilment is not None:
            report = self.fulfilment.scan_jeopardy(actor="system:jeopardy")
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
    host = _wire(db, bundle, clock, customers, supply)
    host.source = source
    return host


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


def _wire(db: Database, bundle: RulesetBundle, clock: Clock, customers: SqlCustomerDirectory,
          supply: SqlReservationStore) -> Host:
    configurable_skus(bundle)  # a catalog naming a product model that is not loaded fails here, not on a page
    service = OrderService(
        rules=order_rules_from(bundle),
        customers=customers,
        unit_of_work=lambda: SqlUnitOfWork(db),
        clock=clock,
        pricer=RulesetPricer(bundle),
        promiser=SupplyPromiser(supply, sourcing_rules(bundle)),
        products=SerialisedProducts(ConfiguratorProducts(bundle)),
    )
    fulfilment = None
    if bundle.of_kind("process"):
        fulfilment = FulfilmentService(
            orders=service, records=SqlFulfilmentRecords.on(db), processes=process_catalogue_from(bundle),
            rules=DurableRulesAdapter(event_rules_from(bundle)), gateway=TestGateway(),
            stock=SupplyStockLevels(supply))
    return Host(db, bundle, customers, supply, OrderEvents(db), clock, service, fulfilment)


def sourcing_rules(bundle: RulesetBundle) -> PromisingRules:
    """The bundle's one ``sourcing`` ruleset (where the shop ships from, how it promises)."""
    found = bundle.of_kind("sourcing")
    if len(found) != 1:
        raise ValueError(f"the host app needs exactly one `sourcing` ruleset in the bundle, found {len(found)}")
    return found[0].artefact
