"""The embedded AWS for ``hamari --demo``: moto in-process, extended, seeded and kept live."""
