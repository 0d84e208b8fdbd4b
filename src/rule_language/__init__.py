"""The safe rule language and ruleset loader shared by both cores."""

__all__: list[str] = []
