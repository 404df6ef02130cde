"""`python -m atft`: see `atft.cli`."""

from atft.cli import main

raise SystemExit(main())
