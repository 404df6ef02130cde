"""``python -m health_checks``: see :mod:`health_checks.cli`."""

import sys

from health_checks.cli import main

if __name__ == "__main__":
    sys.exit(main())
