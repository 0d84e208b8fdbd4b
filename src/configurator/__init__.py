"""The configurator: product models, exact interactive solving, explanations.

Pure computation: importers take text, sessions take choices; nothing here
reads files, the clock or globals. Start with :class:`Configurator` (compile a
:class:`ProductModel` once) and its :meth:`~Configurator.session`.
"""

from configurator.backends import BACKEND_NAMES, Solver, SolverBackend, get_backend
from configurator.errors import (
    BackendError,
    ConfiguratorError,
    ConflictError,
    ImportFormatError,
    IncompleteConfigurationError,
    ModelError,
    ModelTooLargeError,
    UnknownValueError,
    UnknownVariableError,
)
from configurator.explain import Choice, ConstraintRef, Explanation, Restoration
from configurator.importers import import_clib, import_xcsp
from configurator.kinds import RULESET_KINDS
from configurator.model import (
    ProductModel,
    TableConstraint,
    TableKind,
    Value,
    Variable,
    VariableKind,
)
from configurator.session import ConfigurationSession, Configurator, ValidationResult

__all__ = [
    "BACKEND_NAMES",
    "RULESET_KINDS",
    "BackendError",
    "Choice",
    "ConfigurationSession",
    "Configurator",
    "ConfiguratorError",
    "ConflictError",
    "ConstraintRef",
    "Explanation",
    "ImportFormatError",
    "IncompleteConfigurationError",
    "ModelError",
    "ModelTooLargeError",
    "ProductModel",
    "Restoration",
    "Solver",
    "SolverBackend",
    "TableConstraint",
    "TableKind",
    "UnknownValueError",
    "UnknownVariableError",
    "ValidationResult",
    "Value",
    "Variable",
    "VariableKind",
    "get_backend",
    "import_clib",
    "import_xcsp",
]
