"""Tarif's order layer: capture, order rules, revisions, promising, fulfilment — one way to change an order.

Everything a person or a system does to an order is a command
(:mod:`order_management.commands`) handed to the :class:`MessageBus`; exactly
one handler (:mod:`order_management.handlers`) carries it out in one
:class:`UnitOfWork` over orders, reservations, fulfilment records, payments
and the audit trail, and records domain events (:mod:`order_management.events`)
whose follow-ups the bus runs after the commit. The pure pieces (rules, diffs,
promising, process steps) are functions of their inputs. An embedding app
starts with :func:`bootstrap_in_memory`; the host app wires the same bus to SQL.
"""

from . import commands, events
from .availability import SupplyPromiser, demand_request
from .bootstrap import bootstrap, bootstrap_in_memory, dependencies_from, sourcing_rules
from .configuration import LEAD_TIME_ATTRIBUTE, ConfiguratorProducts, ConfiguredLine
from .errors import (
    ConcurrentUpdateError,
    DuplicateOrderError,
    FieldProblem,
    FulfilmentNotConfiguredError,
    NotPermittedError,
    OrderError,
    OrderNotFoundError,
    OrderValidationError,
    ProcessingConstraintError,
    Severity,
)
from .fulfilment import FULFILMENT_KINDS
from .handlers import CaptureResult, Dependencies, JeopardyReport, OrderBalance
from .imports import ErrorPolicy, ImportFormatError, ImportReport, import_orders, parse_csv_batch, parse_json_batch
from .memory import FixedClock, InMemoryCustomers
from .messagebus import MessageBus, UnknownCommandError
from .model import (
    Address,
    Channel,
    Customer,
    LineInput,
    LineKind,
    LineStatus,
    ManualDiscount,
    Order,
    OrderInput,
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
)
from .pricing import RulesetPricer, to_pricing_order
from .promising import PROMISING_KINDS
from .queries import Quote, check_availability, check_order, quote
from .revisions import Change, Revision, diff, render_diff
from .rules import ORDER_RULES_KIND, FailureAction, OrderRules, ValidationOutcome, order_rules_from
from .unit_of_work import InMemoryStore, InMemoryUnitOfWork, UnitOfWork

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
    "Dependencies",
    "DuplicateOrderError",
    "ErrorPolicy",
    "FailureAction",
    "FieldProblem",
    "FixedClock",
    "FulfilmentNotConfiguredError",
    "ImportFormatError",
    "ImportReport",
    "InMemoryCustomers",
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "JeopardyReport",
    "LineInput",
    "LineKind",
    "LinePromise",
    "LinePromiseStatus",
    "LineStatus",
    "ManualDiscount",
    "MessageBus",
    "NotPermittedError",
    "Order",
    "OrderBalance",
    "OrderError",
    "OrderInput",
    "OrderLine",
    "OrderNotFoundError",
    "OrderRecord",
    "OrderRepository",
    "OrderRules",
    "OrderStatus",
    "OrderValidationError",
    "Party",
    "Pricer",
    "PricingOutcome",
    "ProcessingConstraintError",
    "ProductChecker",
    "Promiser",
    "Quote",
    "Revision",
    "RulesetPricer",
    "ServiceTerms",
    "Severity",
    "SupplyPromiser",
    "UnitOfWork",
    "UnknownCommandError",
    "ValidationOutcome",
    "bootstrap",
    "bootstrap_in_memory",
    "check_availability",
    "check_order",
    "commands",
    "demand_request",
    "dependencies_from",
    "diff",
    "events",
    "import_orders",
    "order_rules_from",
    "parse_csv_batch",
    "parse_json_batch",
    "quote",
    "render_diff",
    "sourcing_rules",
    "to_pricing_order",
]
