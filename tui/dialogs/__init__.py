"""Views a pane opens: confirmations, the export prompt, detail views, the chart, skipped lines.

A floor below the panes (``screens > panes > dialogs > widgets``): a pane may push these, and they
know nothing of panes or the main screen; what a pane gets back comes as the screen's result.
"""
