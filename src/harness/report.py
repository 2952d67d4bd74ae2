"""`python -m harness.report`: the command; its code is `harness.results.report` (the results wing)."""

import sys

from .results.report import main

if __name__ == "__main__":
    sys.exit(main())
