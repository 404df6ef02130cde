"""`python -m maintenance.fix`: the command line (`maintenance.fix.cli.run`)."""

from maintenance.fix.cli import run

if __name__ == "__main__":
    run()
