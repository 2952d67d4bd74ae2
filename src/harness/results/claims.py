"""What a claim is: the paper and its number, the claim in words, the test that decides it and its
numbers, the replicate unit and which report's records feed it (`Claim`); the words a verdict can
take; and the papers several experiments cite.

Each claim is declared once, in its experiment's module (`analysis/<experiment>.py`, `CLAIMS`),
beside the verdict code that reads its numbers from `Claim.params`, so the text a reader sees and
the rule the code applies are one. The dashboard rows, the criteria in the reports, `plan` and
`docs/claims.md` are derived from these declarations (`analysis.CLAIMS`). Its known-answer record
sets live in `tests/test_known_answers_*.py` (built so the claim is false in several ways, and
true but noisy).

Words a verdict can take: `reproduced`, `partly`, `not reproduced`, `inconclusive`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

from ..names import CHANCE_ACC

VERDICTS = ("reproduced", "partly", "not reproduced", "inconclusive")
RANK = {"not reproduced": 0, "inconclusive": 1, "partly": 1, "reproduced": 2}


@dataclass(frozen=True)
class Claim:
    name: str  # the dashboard row, and the `claim` of the verdict its analysis computes
    source: str  # the paper (or "this project": a test of our own, not the paper's claim)
    paper: str  # the paper's number(s)
    hypothesis: str  # the claim, in words
    test: str  # the rule that gives the verdict: statistic, sidedness, alpha, margins ({params} filled in)
    effect: str  # the smallest effect, or the range, the claim implies
    replicate: str  # what counts as one independent replicate
    report: str  # experiments/<report>/: the records that feed it
    params: dict = field(default_factory=dict)  # the test's numbers, read by the analysis
    confirmatory: str = ""  # the run set that decides it, declared before it ran (docs/confirmatory.md)
    needs: str = ""  # another claim whose verdict must agree: the dashboard combines the two (`combine`)

    def __post_init__(self):
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    @property
    def criterion(self) -> str:
        return self.test.format(**self.params)

    @property
    def own_test(self) -> bool:
        return self.source.startswith("this project")


def combine(own: str, needed: str) -> str:
    """A claim with `needs`: reproduced only when both lines of evidence are; partly when one is
    (or one is partly); not reproduced when neither is; inconclusive when its own is and the other
    does not decide it."""
    if own == needed == "reproduced":
        return "reproduced"
    if "reproduced" in (own, needed) or "partly" in (own, needed):
        return "partly"
    return "inconclusive" if "inconclusive" in (own, needed) else "not reproduced"


ZHANG = "Zhang, Bengio, Hardt, Recht, Vinyals (ICLR 2017)"
CHANCE = dict(chance=CHANCE_ACC, margin=0.01, memorized=0.99)
CHANCE_TEST = (
    "memorized: train acc >= {memorized:.0%} in every replicate; at chance: the 90% t-interval of the replicates' "
    "mean test acc inside [{lo:.0%}, {hi:.0%}] (TOST at 5%, margin {margin:.0%}); leak: the 95% t-interval's "
    "lower end above {hi:.0%}"
)

KL = "Kuzborskij & Lampert (ICML 2018)"
SMITH_LE = "Smith & Le (ICLR 2018)"
