"""configurator: see the package issue; the public API is exported here."""

__all__: list[str] = []
