"""Tarif's order layer: capture, order rules, revisions, promising and reservations.

The pure pieces (rules, diffs, promising computations) are functions of their
inputs; :class:`OrderService` is the thin shell that reads customers and the
clock, calls them, and stores the result through the ports in
:mod:`order_management.ports` (in-memory implementations in
:mod:`order_management.memory`; the host app provides SQL storage).
"""

from .availability import SupplyPromiser, demand_request
from .configuration import LEAD_TIME_ATTRIBUTE, ConfiguratorProducts, ConfiguredLine
from .errors import (
    ConcurrentUpdateError,
    DuplicateOrderError,
    FieldProblem,
    OrderError,
    OrderNotFoundError,
    OrderValidationError,
    ProcessingConstraintError,
    Severity,
)
from .fulfilment import FULFILMENT_KINDS
from .imports import ErrorPolicy, ImportFormatError, ImportReport, import_orders, parse_csv_batch, parse_json_batch
from .memory import FixedClock, InMemoryCustomers, InMemoryStore, InMemoryUnitOfWork
from .model import (
    Address,
    Channel,
    Customer,
    LineKind,
    LineStatus,
    ManualDiscount,
    Order,
    OrderLine,
    OrderStatus,
    Party,
    ServiceTerms,
)
from .ports import (
    Clock,
    CustomerDirectory,
    LinePromise,
    LinePromiseStatus,
    OrderRecord,
    OrderRepository,
    Pricer,
    PricingOutcome,
    ProductChecker,
    Promiser,
    UnitOfWork,
)
from .pricing import RulesetPricer, to_pricing_order
from .promising import PROMISING_KINDS
from .revisions import Change, Revision, diff, render_diff
from .rules import ORDER_RULES_KIND, FailureAction, OrderRules, ValidationOutcome, order_rules_from
from .service import CaptureResult, OrderService

RULESET_KINDS = (ORDER_RULES_KIND, *PROMISING_KINDS, *FULFILMENT_KINDS)

__all__ = [
    "LEAD_TIME_ATTRIBUTE",
    "ORDER_RULES_KIND",
    "RULESET_KINDS",
    "Address",
    "CaptureResult",
    "Change",
    "Channel",
    "Clock",
    "ConcurrentUpdateError",
    "ConfiguratorProducts",
    "ConfiguredLine",
    "Customer",
    "CustomerDirectory",
    "DuplicateOrderError",
    "ErrorPolicy",
    "FailureAction",
    "FieldProblem",
    "FixedClock",
    "ImportFormatError",
    "ImportReport",
    "InMemoryCustomers",
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "LineKind",
    "LinePromise",
    "LinePromiseStatus",
    "LineStatus",
    "ManualDiscount",
    "Order",
    "OrderError",
    "OrderLine",
    "OrderNotFoundError",
    "OrderRecord",
    "OrderRepository",
    "OrderRules",
    "OrderService",
    "OrderStatus",
    "OrderValidationError",
    "Party",
    "Pricer",
    "PricingOutcome",
    "ProcessingConstraintError",
    "ProductChecker",
    "Promiser",
    "Revision",
    "RulesetPricer",
    "ServiceTerms",
    "Severity",
    "SupplyPromiser",
    "UnitOfWork",
    "ValidationOutcome",
    "demand_request",
    "diff",
    "import_orders",
    "order_rules_from",
    "parse_csv_batch",
    "parse_json_batch",
    "render_diff",
    "to_pricing_order",
]
