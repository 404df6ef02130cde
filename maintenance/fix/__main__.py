"""`python -m maintenance.fix`: the command line (`maintenance.fix.cli.main`)."""

from maintenance.fix.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
