"""Allow ``python -m tui`` as an alias of the ``hamari`` command."""

from tui.cli import main

raise SystemExit(main())
