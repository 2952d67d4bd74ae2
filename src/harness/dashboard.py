"""`python -m harness.dashboard`: the command; its code is `harness.results.dashboard` (the results wing)."""

import sys

from .results.dashboard import main

if __name__ == "__main__":
    sys.exit(main())
