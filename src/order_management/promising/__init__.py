"""Availability and promising: supply, ATP/CTP, demand-class allocation, sourcing, reservations.

The core is pure: :func:`plan_promise` answers "when and from where can we
deliver these lines?" from a snapshot of supply and reservations, the
compiled rules and ``as_of`` (no clock is read). The shell functions
:func:`check_availability` (what-if), :func:`promise` and :func:`reserve`
(commit) and :func:`release` work against a :class:`ReservationStore`, the
only stateful piece, whose compare-and-set writes make overselling
impossible. See ``docs/promising.md``.
"""

from .atp import SupplyPicture, build_picture
from .errors import (
    DuplicateReservationError,
    OversellError,
    PlanNoLongerAvailableError,
    PromisingError,
    PromisingInputError,
    ReservationConflictError,
    SourcingRuleError,
    UnknownNameError,
    VersionConflictError,
)
from .kinds import PROMISING_KINDS, SourcingFile, compile_sourcing, plan_view, promising_rules_from_yaml
from .models import (
    DEFAULT_DEMAND_CLASS,
    DemandLine,
    DemandRequest,
    ItemPolicy,
    LeadTimeKind,
    PromisingMode,
    Receipt,
    ReceiptKind,
    ShipTo,
    SupplyPosition,
)
from .planner import CoverageGap, availability_timeline, coverage_gaps, plan_promise
from .results import (
    AGGREGATED,
    COMMON_POOL,
    AvailabilitySnapshot,
    Commitment,
    LinePromise,
    LineStatus,
    PlannedSupply,
    Promise,
    PromisePlan,
    Reservation,
    Shipment,
    SupplyKey,
    SupplySource,
)
from .rules import (
    SOURCING_SCHEMA,
    AllocationRule,
    ClassShare,
    DemandClassRule,
    Lane,
    Location,
    PromisingRules,
    SourcingRule,
    SourcingStrategy,
    SplitPolicy,
    Weights,
)
from .service import check_availability, find_shortfalls, promise, release, repromise, reserve
from .store import InMemoryReservationStore, ReservationStore

__all__ = [
    "AGGREGATED",
    "COMMON_POOL",
    "DEFAULT_DEMAND_CLASS",
    "PROMISING_KINDS",
    "SOURCING_SCHEMA",
    "AllocationRule",
    "AvailabilitySnapshot",
    "ClassShare",
    "Commitment",
    "CoverageGap",
    "DemandClassRule",
    "DemandLine",
    "DemandRequest",
    "DuplicateReservationError",
    "InMemoryReservationStore",
    "ItemPolicy",
    "Lane",
    "LeadTimeKind",
    "LinePromise",
    "LineStatus",
    "Location",
    "OversellError",
    "PlanNoLongerAvailableError",
    "PlannedSupply",
    "Promise",
    "PromisePlan",
    "PromisingError",
    "PromisingInputError",
    "PromisingMode",
    "PromisingRules",
    "Receipt",
    "ReceiptKind",
    "Reservation",
    "ReservationConflictError",
    "ReservationStore",
    "ShipTo",
    "Shipment",
    "SourcingFile",
    "SourcingRule",
    "SourcingRuleError",
    "SourcingStrategy",
    "SplitPolicy",
    "SupplyKey",
    "SupplyPicture",
    "SupplyPosition",
    "SupplySource",
    "UnknownNameError",
    "VersionConflictError",
    "Weights",
    "availability_timeline",
    "build_picture",
    "check_availability",
    "compile_sourcing",
    "coverage_gaps",
    "find_shortfalls",
    "plan_promise",
    "plan_view",
    "promise",
    "promising_rules_from_yaml",
    "release",
    "repromise",
    "reserve",
]
