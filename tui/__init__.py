"""hamari: a terminal cockpit for troubleshooting AWS live from a bastion host."""

__version__ = "0.1.0"
