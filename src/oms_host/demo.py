"""Demo data: a few hundred customers and orders over several months, the same on every run.

Everything comes from one seeded :class:`random.Random` and the end date, so
``tarif demo --seed 7 --until 2025-11-30`` always writes the same data. Orders
go through the real :class:`~order_management.MessageBus` (commands (defaults, prices,
rules, promises) with the clock set to each order's day, so reports, holds,
approvals and backorders look like a real desk's. Customers and SKUs are those
of the fictional Tarif Outdoor sample catalogue in ``rulesets/``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from oms_host.auth import Role, Users
from oms_host.host import Host
from oms_host.storage import SqlUnitOfWork
from oms_host.storage.schema import metadata, orders
from order_management import (
    Address,
    Customer,
    FixedClock,
    MessageBus,
    OrderError,
    OrderInput,
    OrderStatus,
    Party,
)
from order_management import commands as cmd
from order_management.fulfilment import EventType, FulfilmentError, PaymentMethod
from order_management.promising import Receipt, SupplyPosition

__all__ = ["DEMO_USERS", "DemoReport", "ensure_demo_users", "seed_demo"]

#: (username, password, role, display name): printed by ``tarif serve``; change them on a real system.
DEMO_USERS = (
    ("desk", "desk-demo", Role.ORDER_DESK, "Dana Desk"),
    ("desk2", "desk-demo", Role.ORDER_DESK, "Dario Desk"),
    ("approver", "approver-demo", Role.APPROVER, "Alex Approver"),
    ("pricing", "pricing-demo", Role.PRICING_ADMIN, "Paz Pricing"),
    ("viewer", "viewer-demo", Role.READ_ONLY, "Vic Viewer"),
)

_CITIES = {"FR": ["Lyon", "Paris", "Marseille", "Lille", "Nantes", "Grenoble", "Annecy", "Bordeaux"],
           "DE": ["Köln", "Berlin", "München", "Hamburg", "Freiburg", "Leipzig"],
           "AT": ["Wien", "Graz", "Innsbruck", "Salzburg"]}
_FIRST = ["Vélo", "Rad", "Cycle", "Berg", "Trail", "Alpen", "Urban", "Pédale", "Speiche", "Chaîne", "Sattel",
          "Roue", "Kette", "Sommet", "Piste", "Gipfel"]
_SECOND = ["Atelier", "Haus", "Shop", "Sport", "Station", "Werk", "Club", "Boutique", "Garage", "Depot"]
#: (item, units on hand at (DE-KS, FR-LY, NL-VE), lead time in days or None, a receipt (units, days after start))
_SUPPLY = [("BIKE-TRAIL", (60, 10, 0), 10, None), ("BIKE-CITY", (8, 4, 0), 28, (20, 75)),
           ("HELMET-AERO", (300, 200, 100), None, None), ("HELMET-KIDS", (150, 100, 50), None, None),
           ("LOCK-U", (200, 120, 80), None, (200, 100)), ("BOTTLE", (2000, 1500, 500), None, None),
           ("BOTTLE-STEEL", (600, 400, 200), None, None), ("REPAIR-KIT", (300, 300, 100), None, None),
           ("ENERGY-BAR", (4000, 3000, 2000), None, None), ("COMMUTER-PACK", (30, 20, 10), 21, None)]
#: (sku, weight, quantity range)
_ITEMS = [("BIKE-TRAIL", 6, (1, 2)), ("BIKE-CITY", 5, (1, 2)), ("HELMET-AERO", 12, (1, 4)),
          ("HELMET-KIDS", 6, (1, 3)), ("LOCK-U", 12, (1, 4)), ("BOTTLE", 10, (1, 24)),
          ("BOTTLE-STEEL", 6, (1, 12)), ("REPAIR-KIT", 8, (1, 5)), ("ENERGY-BAR", 6, (10, 60)),
          ("COMMUTER-PACK", 3, (1, 2)), ("FLEET-PRO", 2, (1, 10))]
_CHANNELS = [("web", 50), ("store", 20), ("call_centre", 15), ("marketplace", 10), ("edi", 5)]


@dataclass
class DemoReport:
    customers: int = 0
    orders: int = 0
    rejected: int = 0
    cancelled: int = 0
    revised: int = 0
    fulfilled: int = 0
    skipped: bool = False

    def summary(self) -> str:
        if self.skipped:
            return "demo data already present (use --reset to start again)"
        return (f"{self.customers} customers, {self.orders} orders ({self.revised} revised, {self.cancelled} "
                f"cancelled, {self.fulfilled} in fulfilment; {self.rejected} drafts rejected by the order rules, "
                "as a real desk sees)")


def ensure_demo_users(users: Users) -> list[tuple[str, str, Role]]:
    """Create the demo users that do not exist yet; return every demo credential."""
    for username, password, role, name in DEMO_USERS:
        if users.get(username) is None:
            users.add(username, password, role, name, locale="fr" if username == "desk2" else "en")
    return [(u, p, r) for u, p, r, _ in DEMO_USERS]


def _customers(rng: random.Random, count: int) -> list[Customer]:
    found = []
    for n in range(1, count + 1):
        country = rng.choices(["FR", "DE", "AT"], [5, 4, 1])[0]
        city = rng.choice(_CITIES[country])
        name = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {city}"
        segment = rng.choices(["standard", "gold", "partner"], [7, 2, 1])[0]
        limit = Decimal(rng.choice([2000, 5000, 20000])) if rng.random() < 0.15 else None
        postcode = f"{rng.randrange(10000, 99999)}"
        party = Party(name=name, address=Address(country=country, city=city, postal_code=postcode))
        found.append(Customer(id=f"C-{n:04d}", name=name, segment=segment, credit_limit=limit,
                              open_balance=Decimal(rng.randrange(0, 1500)) if limit else Decimal(0),
                              bill_to=party, ship_to=party))
    return found


def _draft(rng: random.Random, customer: Customer, ref: str, today: dt.date) -> dict:
    picked = rng.sample(_ITEMS, k=rng.choices([1, 2, 3, 4], [4, 4, 2, 1])[0])
    lines = []
    for index, (sku, _, (low, high)) in enumerate(sorted(picked, key=lambda i: -i[1])):
        line: dict = {"line_id": str(index + 1), "sku": sku, "quantity": str(rng.randint(low, high))}
        if sku == "BIKE-TRAIL":
            line.update(kind="configured", product_model="trail-bike")
            line["options"] = {"frame_size": rng.choice(["S", "M", "L", "XL"]),
                               "color": rng.choice(["matte-black", "racing-red"])}
            if line["options"]["frame_size"] != "S" and rng.random() < 0.3:
                line["options"].update(motor=True, battery_wh=rng.choice([375, 500, 625, 750]))
        lines.append(line)
    draft: dict = {"customer_id": customer.id, "currency": "EUR", "source_system": "demo", "external_ref": ref,
                   "channel": rng.choices([c for c, _ in _CHANNELS], [w for _, w in _CHANNELS])[0], "lines": lines}
    if rng.random() < 0.3:
        draft["requested_date"] = (today + dt.timedelta(days=rng.randint(3, 14))).isoformat()
    if rng.random() < 0.06:
        draft["manual_discounts"] = [{"type": "percent", "value": str(rng.choice([12, 15, 18])),
                                      "reason": "competitor match", "role": "sales_rep", "entered_by": "desk"}]
    return draft


def seed_demo(host: Host, *, customers: int = 300, orders_count: int = 900, months: int = 6, seed: int = 7,
              until: dt.date | None = None, reset: bool = False, fulfil_days: int = 21) -> DemoReport:
    """Write the demo data (unless orders exist and ``reset`` is false)."""
    report = DemoReport()
    with host.db.read() as connection:
        existing = connection.execute(sa.select(sa.func.count()).select_from(orders)).scalar_one()
    if existing and not reset:
        report.skipped = True
        return report
    if reset:
        with host.db.write() as connection:
            for table in reversed(metadata.sorted_tables):
                if table.name not in ("users", "api_tokens", "sessions", "counters"):
                    connection.execute(table.delete())
            connection.execute(sa.text("UPDATE counters SET value = 0 WHERE name = 'order'"))
    rng = random.Random(seed)
    until = until or dt.datetime.now(dt.UTC).date()
    start = until - dt.timedelta(days=30 * months)
    people = _customers(rng, customers)
    host.customers.put_many(people)
    report.customers = len(people)
    days = (until - start).days
    positions = []
    for item, quantities, lead, receipt in _SUPPLY:
        for location, on_hand in zip(("DE-KS", "FR-LY", "NL-VE"), quantities, strict=True):
            receipts = (Receipt(id=f"PO-{item}-{location}", quantity=receipt[0],
                                expected_on=start + dt.timedelta(days=receipt[1])),) if receipt else ()
            positions.append(SupplyPosition(item=item, location=location, on_hand=on_hand, receipts=receipts,
                                            lead_time_days=lead))
    host.put_supply(positions)
    moments = sorted(dt.datetime(start.year, start.month, start.day, 8, tzinfo=dt.UTC)
                     + dt.timedelta(days=rng.randrange(days + 1), minutes=rng.randrange(0, 600))
                     for _ in range(orders_count))
    clock = FixedClock(moments[0])
    bus = MessageBus(lambda: SqlUnitOfWork(host.db, clock.now), dataclasses.replace(host.deps, clock=clock))
    desks = ["desk", "desk2", "token:shop"]
    captured: list[tuple[dt.datetime, str]] = []
    for n, moment in enumerate(moments):
        clock._now = moment
        customer = rng.choice(people)
        draft = _draft(rng, customer, f"D-{n + 1:05d}", moment.date())
        try:
            result = bus.handle(cmd.ImportOrder(actor=rng.choice(desks), order=OrderInput.model_validate(draft),
                                                reason="captured (demo)"))
        except OrderError:
            report.rejected += 1
            continue
        report.orders += 1
        roll = rng.random()
        order_id = result.order.order_id
        captured.append((moment, order_id))
        try:
            if roll < 0.04:
                clock.advance(hours=rng.randint(1, 48))
                bus.handle(cmd.CancelOrder(actor="desk", order_id=order_id, reason="customer cancelled (demo)"))
                report.cancelled += 1
            elif roll < 0.10:
                clock.advance(hours=rng.randint(1, 24))
                bus.handle(cmd.ReviseOrder(actor="desk2", order_id=order_id, expected_version=result.order.version,
                                           changes={"notes": "delivery to the back door"},
                                           reason="customer call (demo)"))
                report.revised += 1
        except OrderError:
            pass
    if host.fulfilment_on and fulfil_days:
        report.fulfilled = _fulfil(host, bus, clock, rng, captured, until, fulfil_days)
    return report


def _fulfil(host: Host, bus: MessageBus, clock: FixedClock, rng: random.Random,
            captured: list[tuple[dt.datetime, str]], until: dt.date, days: int) -> int:
    """Run the last ``days`` of booked orders through fulfilment, as far as their age allows.

    Scheduled after 10 hours, picked the next day, shipped after two days,
    paid by card on shipment and delivered a day later; one shipment in ten is delayed by the carrier,
    which the jeopardy scan at the end turns into alerts.
    """
    end = dt.datetime(until.year, until.month, until.day, 18, tzinfo=dt.UTC)
    started = 0
    for moment, order_id in captured:
        if moment < end - dt.timedelta(days=days):
            continue
        status = host.order(order_id).order.status
        if status not in (OrderStatus.BOOKED, OrderStatus.BACKORDERED):
            continue
        steps = [(dt.timedelta(hours=1), "start", None), (dt.timedelta(hours=10), "step", "schedule"),
                 (dt.timedelta(days=1, hours=10), "step", "pick"), (dt.timedelta(days=2), "ship", None),
                 (dt.timedelta(days=2, hours=1), "pay", None), (dt.timedelta(days=3, hours=2), "deliver", None)]
        delayed = rng.random() < 0.1
        try:
            for offset, what, step in steps:
                clock._now = moment + offset
                if clock._now > end:
                    break
                if what == "start":
                    bus.handle(cmd.StartFulfilment(actor="desk", order_id=order_id))
                    started += 1
                elif what == "step":
                    bus.handle(cmd.RecordFulfilmentEvent(actor="wms", order_id=order_id,
                                                         type=EventType.STEP_COMPLETED, step=step))
                elif what == "ship" and delayed:
                    bus.handle(cmd.RecordFulfilmentEvent(actor="carrier", order_id=order_id,
                                                         type=EventType.SHIPMENT_DELAYED,
                                                         expected_at=clock._now + dt.timedelta(days=4)))
                    break
                elif what == "deliver":
                    bus.handle(cmd.RecordFulfilmentEvent(actor="carrier", order_id=order_id,
                                                         type=EventType.DELIVERED))
                elif what == "ship":
                    bus.handle(cmd.RecordFulfilmentEvent(actor="carrier", order_id=order_id,
                                                         type=EventType.SHIPMENT_CONFIRMED))
                else:
                    payment = bus.handle(cmd.AuthorisePayment(actor="desk", order_id=order_id,
                                                              method=PaymentMethod.CARD))
                    bus.handle(cmd.CapturePayment(actor="desk", payment_id=payment.payment_id))
        except (OrderError, FulfilmentError):  # a rule stopped this order (a hold, an approval): it stays where it is
            continue
    clock._now = end
    bus.handle(cmd.ScanJeopardy(actor="system:jeopardy"))
    return started
