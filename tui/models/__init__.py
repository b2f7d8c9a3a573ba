"""Pure records, parsers, filters and time windows. No UI and no network."""
