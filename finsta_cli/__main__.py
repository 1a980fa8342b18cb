"""Entry point for ``python -m finsta_cli``."""

from finsta_cli.cli.app import main

if __name__ == "__main__":
    main()
