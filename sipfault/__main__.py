"""``python -m sipfault``: the command-line interface."""

from sipfault.cli import main

raise SystemExit(main())
