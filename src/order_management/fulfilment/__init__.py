"""Order fulfilment: processes, events, change orders, holds, approvals, jeopardy, returns, payments.

Part 2 of the order layer. Booked orders run through process definitions
(ruleset kind ``process``) whose steps have planned durations; events move the
steps on; a change order compensates and re-plans; holds and approvals stop
progress until a person (or a rule) lets it go on; event rules (ruleset kind
``event_rules``, run by durable-rules behind :class:`DurableRulesAdapter`)
decide jeopardy priorities, holds, approvals and reorder points. Returns,
payments (through the :class:`PaymentGateway` Protocol) and the audit trail
complete it. These are the pure pieces and records; the use cases that drive
them are the order layer's handlers (:mod:`order_management.handlers`), run
by its message bus over one unit of work.
"""

from .audit import AuditEvent, AuditTrail, Entity
from .durable_adapter import DurableRulesAdapter, Evaluation, Firing, HostAction
from .errors import (
    EventRuleError,
    FulfilmentError,
    OrderBlockedError,
    PaymentDeclinedError,
    PaymentError,
    ReturnError,
    RuleActionError,
    StepTransitionError,
    UnknownActionError,
)
from .event_rules import EVENT_RULES_KIND, EventRuleSet, Priority, RuleSection, event_rules_from
from .jeopardy import LineProjection
from .payments import GatewayResult, Payment, PaymentGateway, PaymentMethod, PaymentStatus, TestGateway
from .process import (
    PROCESS_KIND,
    Command,
    CommandKind,
    EventType,
    ProcessCatalogue,
    ProcessDefinition,
    Scope,
    StepStatus,
    Track,
    process_catalogue_from,
)
from .records import (
    Approval,
    ApprovalStatus,
    FulfilmentEvent,
    Hold,
    JeopardyAlert,
    ProcessInstance,
    ReplenishmentRequest,
    ReplenishmentStatus,
    Stage,
)
from .repositories import FulfilmentRecords, ProcessRepository, Repository
from .returns import Resolution, ReturnAuthorisation, ReturnLine, ReturnReason, ReturnStatus
from .stock import SupplyStockLevels

#: The ruleset kinds this package contributes (the order layer adds them to its ``RULESET_KINDS``).
FULFILMENT_KINDS = (PROCESS_KIND, EVENT_RULES_KIND)

__all__ = [
    "EVENT_RULES_KIND",
    "FULFILMENT_KINDS",
    "PROCESS_KIND",
    "Approval",
    "ApprovalStatus",
    "AuditEvent",
    "AuditTrail",
    "Command",
    "CommandKind",
    "DurableRulesAdapter",
    "Entity",
    "Evaluation",
    "EventRuleError",
    "EventRuleSet",
    "EventType",
    "Firing",
    "FulfilmentError",
    "FulfilmentEvent",
    "FulfilmentRecords",
    "GatewayResult",
    "Hold",
    "HostAction",
    "JeopardyAlert",
    "LineProjection",
    "OrderBlockedError",
    "Payment",
    "PaymentDeclinedError",
    "PaymentError",
    "PaymentGateway",
    "PaymentMethod",
    "PaymentStatus",
    "Priority",
    "ProcessCatalogue",
    "ProcessDefinition",
    "ProcessInstance",
    "ProcessRepository",
    "ReplenishmentRequest",
    "ReplenishmentStatus",
    "Repository",
    "Resolution",
    "ReturnAuthorisation",
    "ReturnError",
    "ReturnLine",
    "ReturnReason",
    "ReturnStatus",
    "RuleActionError",
    "RuleSection",
    "Scope",
    "Stage",
    "StepStatus",
    "StepTransitionError",
    "SupplyStockLevels",
    "TestGateway",
    "Track",
    "UnknownActionError",
    "event_rules_from",
    "process_catalogue_from",
]
