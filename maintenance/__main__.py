"""`python -m maintenance` is `python -m maintenance.fix`."""

from __future__ import annotations

from maintenance.fix import main

if __name__ == "__main__":
    raise SystemExit(main())
