"""Benchmarks: every figure printed beside a baseline measured in the same run.

Run with ``python -m tui.bench`` (or ``make bench``). Sections: ``startup`` (import time, first
frame, data in all three panes, resident memory of the demo), and those added by later issues.
``python -m tui.bench startup`` runs one section.
"""
