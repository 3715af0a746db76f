"""``python -m graphspec``: the ``graphspec`` command."""
from graphspec.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
