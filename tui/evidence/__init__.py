"""The evidence an investigation rests on, kept apart from whatever a pane happens to show.

A pane narrows what it *shows* (its filter, the focused resource, its target); the findings, the
incident bundle and ``hamari diagnose`` must see everything that was loaded. So the loaded records,
the memory caps and stores behind them, and what was skipped live here, in plain objects the screen
(or a headless verb) creates and hands to the panes. Nothing here imports the UI (the import-linter
contract "Data layer never sees the UI" and tests/test_guards.py keep it so), which is also why the
tests can build these objects in milliseconds without an app.
"""
