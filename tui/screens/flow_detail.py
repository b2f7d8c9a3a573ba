"""Moved to :mod:`tui.dialogs.flow_detail`; kept only until tui/panes/flows.py imports it there."""

from tui.dialogs.flow_detail import FlowDetailScreen

__all__ = ["FlowDetailScreen"]
