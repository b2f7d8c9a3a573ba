"""Headless verbs (`hamari trail|metrics|flows`): the same sources, written to stdout. No textual."""
