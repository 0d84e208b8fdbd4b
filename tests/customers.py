"""The customers every order and host test captures for: one gold, one near its credit limit, one without
an address, one blocked."""

from __future__ import annotations

from decimal import Decimal

from order_management import Address, Customer, Party


def _party(name: str, country: str, city: str) -> Party:
    return Party(name=name, address=Address(country=country, city=city))


CUSTOMERS = [
    Customer(id="C-100", name="Vélo Lyon", segment="gold", bill_to=_party("Vélo Lyon SARL", "FR", "Lyon"),
             ship_to=_party("Vélo Lyon – shop", "FR", "Lyon")),
    Customer(id="C-200", name="Radhaus Köln", segment="standard", credit_limit=Decimal("1000.00"),
             open_balance=Decimal("800.00"), ship_to=_party("Radhaus", "DE", "Köln")),
    Customer(id="C-300", name="Walk-in", segment="standard"),
    Customer(id="C-400", name="Blocked Ltd", blocked=True, ship_to=_party("Blocked", "FR", "Paris")),
]
