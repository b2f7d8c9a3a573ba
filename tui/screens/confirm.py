"""Moved to :mod:`tui.dialogs.confirm`; kept only until tui/panes/flows.py imports it from there."""

from tui.dialogs.confirm import ConfirmScreen

__all__ = ["ConfirmScreen"]
