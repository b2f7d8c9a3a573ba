"""Moved to :mod:`tui.dialogs.export`; kept only until tui/panes/flows.py imports it from there."""

from tui.dialogs.export import ExportPrompt

__all__ = ["ExportPrompt"]
