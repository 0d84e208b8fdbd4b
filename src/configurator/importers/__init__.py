"""Importers: benchmark file text in, :class:`~configurator.model.ProductModel` out.

They take text (and a name for messages), never paths: reading files is the
shell's job (``tarif configure``, the benchmark, the tests).
"""

from configurator.importers.clib import import_clib
from configurator.importers.xcsp import import_xcsp

__all__ = ["import_clib", "import_xcsp"]
