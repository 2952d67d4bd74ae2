"""`python -m harness.compare`: the command; its code is `harness.results.compare` (the results wing)."""

import sys

from .results.compare import main

if __name__ == "__main__":
    sys.exit(main())
