"""Every claim the harness tests, declared once: what the paper says, the test that decides it and
its numbers, the replicate unit and which report's records feed it.

The dashboard rows, the criteria in the reports, `plan` (which report decides which claims) and
`docs/claims.md` are derived from these declarations; each analysis reads its test's numbers from
`Claim.params`, so the text a reader sees and the rule the code applies are one. Adding a claim:
one declaration here, its verdict in the analysis of its report, and its known-answer record sets
in `tests/test_known_answers.py` (built so the claim is false in several ways, and true but noisy).

Words a verdict can take: `reproduced`, `partly`, `not reproduced`, `inconclusive`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

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
CHANCE = dict(chance=0.10, margin=0.01, memorized=0.99)
_CHANCE_TEST = (
    "memorized: train acc >= {memorized:.0%} in every replicate; at chance: the 90% t-interval of the replicates' "
    "mean test acc inside [{lo:.0%}, {hi:.0%}] (TOST at 5%, margin {margin:.0%}); leak: the 95% t-interval's "
    "lower end above {hi:.0%}"
)

C1_MEMORIZED = Claim(
    "C1 random labels memorized",
    ZHANG,
    "MLP 1x512: train 99.34%, test 10.61% (lr x0.95 per epoch)",
    "a network fits completely random labels of CIFAR-10 (train acc ~100%) while its test accuracy stays at chance",
    _CHANCE_TEST + ". Zhang's schedule (lr x0.95 per epoch) memorizes at chance -> reproduced; only this project's "
    "step schedule (x0.1 at epoch 100) does -> partly; a leak, or no schedule memorizes -> not reproduced; "
    ">= {min_replicates} replicates per schedule, else inconclusive",
    "train acc >= 99%; test acc within 1 point of 10%",
    "a seed with its own init, batch order and label draw",
    "random_labels",
    {**CHANCE, "lo": 0.09, "hi": 0.11, "min_replicates": 3},
    confirmatory="seeds 0-2, label draw = seed, Zhang's and the step schedule",
)
C1_TABLE1 = Claim(
    "C1 Table 1",
    ZHANG,
    "train 99.34-100% everywhere; random labels test 9.78-10.61%",
    "explicit regularization is not needed to fit: every cell of Table 1 fits its training set, random labels at "
    "chance",
    "every random-label cell: " + _CHANCE_TEST + "; every true-label cell fits (train acc >= {memorized:.0%} in every "
    "replicate) -> reproduced; a leak or a random-label cell not memorized -> not reproduced; else partly "
    "(runs that share a label draw count once)",
    "train acc >= 99% in every cell; random-label test acc within 1 point of 10%",
    "a seed with its own init and batch order; for random labels also its own label draw",
    "zhang_table1",
    {**CHANCE, "lo": 0.09, "hi": 0.11},
    confirmatory="random-label cells with label draw = seed (seeds 1, 2 re-run)",
)
C1_TABLE1_CNN = Claim(
    "C1 Table 1: a CNN on a subset",
    ZHANG,
    "small AlexNet, 50,000 images: random labels train 99.82%, test 9.86%",
    "a CNN memorizes random labels too",
    "every random-label run reaches train acc >= {memorized:.0%} -> reproduced; stopped by its epoch budget below "
    "that -> inconclusive (how far it got is the measurement); no random-label run -> inconclusive",
    "train acc >= 99%",
    "a seed",
    "zhang_table1",
    {"memorized": 0.99},
)
C1_FIG1A = Claim(
    "C1 Figure 1a: randomizations fitted",
    ZHANG,
    "all five fitted (loss -> 0)",
    "true labels, random labels, shuffled pixels, random pixels and Gaussian inputs are all fitted",
    "a condition is fitted when its run completed (a run that diverged or never trained is not fitted) having "
    "reached train acc >= {fit:.0%} within the budget. All five fitted -> reproduced; true and random labels only -> "
    "partly; else not reproduced; a condition without a run (and true and random labels not failed) -> "
    "inconclusive (an existence claim: one seed each, no interval)",
    "train acc >= 99% in each condition",
    "a seed (one per condition)",
    "randomizations",
    {"fit": 0.99},
)
C1_FIG1B = Claim(
    "C1 Figure 1b: time to fit vs p",
    ZHANG,
    "a small constant factor slower at p = 1",
    "fitting random labels takes longer than true labels, by a small constant factor",
    "every run fits, the Welch 95% CI of steps(p=1) - steps(p=0) > 0 and the ratio <= {small_factor:g} (our "
    "threshold for 'small') -> reproduced; not measurably slower -> partly; a run that does not fit, or slower by "
    "more than {small_factor:g}x -> not reproduced",
    "ratio of fitting times between 1 and 10",
    "a seed with its own init, batch order and label draw",
    "corruption_sweep",
    {"small_factor": 10.0},
)
C1_FIG1C = Claim(
    "C1 Figure 1c: test error vs p",
    ZHANG,
    "rises smoothly to 90% at p = 1",
    "test error grows with the label corruption p, to chance at p = 1",
    "Spearman rho(p, test error) bootstrap 95% CI > 0 and at p = 1 the replicates at chance (the 90% t-interval of "
    "their mean test acc inside [{lo:.0%}, {hi:.0%}]) -> reproduced; rising but not shown at chance -> partly; "
    "a leak at p = 1 (95% t-interval above {hi:.0%}) or not rising -> not reproduced",
    "monotone rise; p = 1 within 1 point of 10%",
    "a seed with its own init, batch order and label draw",
    "corruption_sweep",
    {"lo": 0.09, "hi": 0.11},
)
C2 = Claim(
    "C2 adversarial non-robustness",
    "Goodfellow, Shlens, Szegedy (ICLR 2015); the survey's Figure 1",
    "maxout net, eps 0.1: 87.15% error; standard CIFAR-10 nets fall to a small fraction under PGD 8/255",
    "small input perturbations flip the predictions of networks that generalize",
    "a true-label run counts when its clean accuracy's 95% lower bound is >= {min_clean:.0%} (2x chance: a network "
    "that generalizes; the random-label contrast never counts); it is flipped when the strongest PGD's accuracy at "
    "{eps_255}/255 has a 95% upper bound < {flipped:g} x clean accuracy's 95% lower bound (our threshold: the survey "
    "gives no number) and random sign noise of the same eps keeps >= {control:g} x clean accuracy (its 95% lower "
    "bound vs clean's upper bound; else the size, not the direction, flips). Every counted run flipped -> reproduced; "
    "some -> partly; none -> not reproduced; no run counts, or none flipped and a control not run -> inconclusive",
    "accuracy under attack below half the clean accuracy",
    "a seed (one trained victim)",
    "adversarial",
    {"eps_255": 8, "flipped": 0.5, "control": 0.8, "min_clean": 0.2},
)
C3_DINH = Claim(
    "C3 Dinh: same function, any sharpness",
    "Dinh, Pascanu, Bengio, Bengio (ICML 2017)",
    "T_alpha leaves f unchanged; top eigenvalue and trace arbitrarily large",
    "a function-preserving reparameterization makes the minimum as sharp as we like",
    "every alpha: max |f_alpha - f| < {same_output:g} and test accuracy within {same_acc:g} of the others; top "
    "eigenvalue max/min >= {span:g} within each variant (our thresholds) -> reproduced; same function but a "
    "smaller span -> partly; the function or the accuracy changed -> not reproduced; no reparameterization rows, "
    "or the same function with a variant lacking a positive top eigenvalue -> inconclusive",
    "eigenvalue span >= 100x at an unchanged function",
    "one trained network (the claim is about a reparameterization of it)",
    "sharp_minima",
    {"same_output": 1e-3, "same_acc": 1e-4, "span": 100.0},
)
C3_KESKAR = Claim(
    "C3 Keskar: large batch sharper and worse",
    "Keskar, Mudigere, Nocedal, Smelyanskiy, Tang (ICLR 2017)",
    "CIFAR-10 C1: small batch 80.04% vs large 77.26%; eps-sharpness 28.58 vs 707.23",
    "large-batch SGD ends in sharper minima that generalize worse",
    "on the confirmatory seeds {confirm_seeds} alone (the exploratory seeds are reported, never decide), small B = "
    "the smallest, large B = the largest, paired by seed (both batch sizes share the init): 95% t-interval of test "
    "acc (small B - large B) > 0 and of log sharpness (large / small; eps-sharpness where every run has it, else "
    "the top eigenvalue) > 0 -> reproduced; sharper but the accuracy interval holds 0 -> partly; else not "
    "reproduced; no confirmatory runs, fewer than {min_pairs} complete pairs, or a run of the set not completed or "
    "not stopped by its training target (loss or accuracy) -> inconclusive",
    "any accuracy loss with a sharper minimum",
    "a seed: one init shared by its small- and large-batch runs (a pair)",
    "sharp_minima",
    {"confirm_seeds": (10, 11, 12, 13, 14), "min_pairs": 3},
    confirmatory="seeds 10-14; seeds 0-9 are exploratory",
)
KAWAGUCHI = "Kawaguchi, Kaelbling, Bengio (2017)"
C4_HOLDS = Claim(
    "C4 validation bound holds",
    KAWAGUCHI,
    "violated with probability <= delta = 0.05",
    "test error <= val error + sqrt(ln(|F_val| / delta) / (2 m_val)) for every model chosen with the validation set",
    "at every resampled m_val, the rate of draws in which ANY candidate's test error exceeds its val error + bound "
    "is <= delta = {delta:g} (the upper end of its 95% binomial interval may exceed delta only if the rate itself "
    "does not) -> reproduced; else not reproduced; the whole validation split is one draw: shown, never deciding",
    "violation rate <= delta",
    "a resampled validation set (one model search)",
    "validation_bound",
    {"delta": 0.05},
)
C4_INFORMATIVE = Claim(
    "C4 validation bound is informative",
    KAWAGUCHI,
    "e.g. m_val = 10,000, |F_val| = 100: bound 0.0195",
    "the validation bound guarantees a useful test error",
    "judged only where the bound holds: at m_val = {m_val} (resampled validation sets) the rate of draws with any "
    "violation <= delta = {delta:g}, the selected model's val error + bound (mean over draws) below the error of "
    "chance ({chance_err:g}) and the bound's width <= {max_width:g} -> reproduced; it holds and is below chance but "
    "wider -> partly; violated at that m_val, or val error + bound >= {chance_err:g} (vacuous) -> not reproduced",
    "a guarantee within 10 points, below chance error",
    "a resampled validation set (one model search)",
    "validation_bound",
    {"m_val": 1000, "delta": C4_HOLDS.params["delta"], "chance_err": 0.9, "max_width": 0.1},
)
KL = "Kuzborskij & Lampert (ICML 2018)"
C5_CURVATURE = Claim(
    "C5 curvature at init predicts the gap",
    KL,
    "less curved, low-risk inits generalize better (no effect size given)",
    "the curvature of the risk at the initialization point governs the generalization gap",
    "within the most populated init gain, >= {min_inits} inits (pooled over gains is shown, never counted: the gain "
    "moves curvature and gap together): Spearman rho(trace or top eig at init, loss or error gap), Holm-adjusted "
    "p < {alpha:g} over the 6 tests (3 measures x 2 gaps), for a resolved measure (trace: median se <= "
    "{resolved:g} x its sd between inits) -> counts; counting rho > 0 -> reproduced; counting rho < 0 only (wrong "
    "direction) -> not reproduced; both signs -> inconclusive; none counts -> not reproduced (trace unresolved, or "
    "fewer inits -> inconclusive); the dashboard row also needs the prospective pre-screen test",
    "a positive rank correlation within a gain",
    "an init (its own seed), trained once",
    "init_curvature",
    {"alpha": 0.05, "resolved": 0.5, "min_inits": 5},
    needs="Pre-screened inits generalize better",
)
C5_M = Claim(
    "C5 gap ~ 1/m",
    KL,
    "gap bound O(1/m) with a full pass (slope -1 on log-log)",
    "with one pass over m examples, the generalization gap shrinks like 1/m",
    "a size counts when every run ends with train loss <= {fit:g} x ln 10 (others are shown, left out); OLS "
    "log-log slope of the mean loss gap over every counted size (>= {min_sizes}), 95% t-interval: holds -1 and "
    "excludes 0 -> reproduced; below 0 and excludes -1 -> partly; holds both -> inconclusive; else (holds 0 only, "
    "or above 0) -> not reproduced; fewer counted sizes, or a mean gap <= 0 at one (no log) -> inconclusive",
    "slope -1",
    "a seed (its own init and sample order)",
    "init_curvature",
    {"fit": 0.9, "min_sizes": 3},
    confirmatory="plain SGD, one pass, m = 500-32,000, seeds 0-9",
)
C5_PRESCREEN = Claim(
    "Pre-screened inits generalize better",
    KL + ": the survey's advice",
    "pick an init in a less curved region with low risk (no effect size given)",
    "starting from the least curved of several low-risk inits improves generalization",
    "paired 95% t-interval over seeds (>= {min_pairs} pairs, else inconclusive) of test acc (screened - plain) > 0 "
    "-> reproduced; < 0 (screened worse) -> not reproduced; gap (loss) interval < 0 only -> partly; test acc "
    "interval within +-{equivalent_points:g} points (our margin) and the gap not lower -> not reproduced; else "
    "inconclusive",
    "any improvement",
    "a seed (its pre-screened and plain runs are a pair: same data order, same candidate 0)",
    "prescreen",
    {"min_pairs": 10, "equivalent_points": 0.5},
)
GRADIENT_FLOW = Claim(
    "Gradients vanish or explode without the standard remedies",
    "the survey (Glorot & Bengio 2010; Ioffe & Szegedy 2015)",
    "exploding / vanishing gradients (numerical instability) are part of the paradox; no number given",
    "deep nets without normalization or scaled init have gradients that vanish or explode across layers",
    "at the largest depth, the gradient at init (step 1, before any update): no remedy (default init, no BatchNorm) "
    "-> hidden-layer gradient norms span >= {span:g}x for some activation (whether or not that net then trains: "
    "not training is what vanishing predicts); with BatchNorm -> < {healthy:g}x and trains (train acc >= {trains:g}) "
    "for every activation -> reproduced; the first only -> partly; no span >= {span:g}x -> not reproduced; a "
    "non-finite norm is not a measured span; cells missing, or no span >= {span:g}x among those measured but some "
    "not measured -> inconclusive",
    "a span >= 100x without remedies",
    "a seed (one per cell)",
    "gradient_flow",
    {"span": 100.0, "healthy": 10.0, "trains": 0.2},
)
C6 = Claim(
    "C6 power-law learning curve",
    "Hestness et al. (Baidu, 2017)",
    "image top-1 b = -0.309 (measured range -0.07 to -0.49; theory -0.5 or -1)",
    "test error falls as a power law a m^b of the training-set size, with b in the range the paper measured",
    "a size counts when every run completes and ends with train acc >= {fit:.0%} on its m images (other sizes are "
    "left out of every fit); per model, >= {min_sizes} counted sizes over >= 1 decade: the bootstrap 95% CI of b "
    "(a m^b fitted to the counted runs) inside [{b_low:g}, {b_high:g}] (the paper's -0.07 to -0.488, widened by "
    "0.03) and the power law fitted on the smaller counted sizes predicts the 2 largest at least as well as "
    "a + c ln m (held-out RMSE) -> reproduced; the CI wholly outside that range or holding 0, or the log form "
    "predicting better -> not reproduced; the CI straddling a range end, or too few sizes -> inconclusive. Over "
    "models: all reproduced -> reproduced; some but not all -> partly; none, and one not reproduced -> not "
    "reproduced; else inconclusive",
    "b in [-0.52, -0.04]",
    "a seed (its own init and order; the subsets are nested and shared)",
    "learning_curve",
    {"fit": 0.99, "min_sizes": 4, "b_low": -0.52, "b_high": -0.04},
)
SMITH_LE = "Smith & Le (ICLR 2018)"
_C7_TEST = (
    "95% interval of the log-log slope of B_opt (union of the OLS t-interval over settings and a paired bootstrap "
    "over seeds) holds {linear:g} and excludes {sqrt:g} (square-root scaling) -> reproduced; excludes {linear:g} -> "
    "not reproduced; holds both -> inconclusive; optima on the grid's edge left out, fewer than {min_optima} "
    "bracketed optima -> inconclusive"
)
_C7 = dict(linear=1.0, sqrt=0.5, min_optima=3)
C7_EPS = Claim(
    "C7 B_opt ~ eps",
    SMITH_LE,
    "linear B_opt trends (log-log slope 1; Figure 5b)",
    "the optimal batch size grows linearly with the learning rate",
    _C7_TEST + "; decided by the confirmatory seeds {confirm_seeds} only (none in the records -> inconclusive); "
    "the other seeds' slope is exploratory and decides nothing",
    "slope 1, told apart from 0.5 (square-root scaling)",
    "a seed (its own init and order at every grid point)",
    "batch_lr_scaling",
    {**_C7, "confirm_seeds": (3, 4, 5, 6, 7, 8)},
    confirmatory="the eps grid with seeds 3-8; seeds 0-2 are exploratory",
)
C7_N = Claim(
    "C7 B_opt ~ N",
    SMITH_LE,
    "linear B_opt trends (log-log slope 1; Figure 6b)",
    "the optimal batch size grows linearly with the training-set size",
    _C7_TEST,
    "slope 1, told apart from 0.5",
    "a seed",
    "batch_lr_scaling",
    _C7,
)
C7_M = Claim(
    "C7 B_opt ~ 1/(1-m)",
    SMITH_LE,
    "linear B_opt trends (log-log slope 1; Figure 7b)",
    "the optimal batch size grows linearly with 1/(1 - momentum)",
    _C7_TEST,
    "slope 1, told apart from 0.5",
    "a seed",
    "batch_lr_scaling",
    _C7,
)
C7_N_UPDATES = Claim(
    "C7 B_opt ~ N at equal updates",
    "this project (a variant of Smith & Le's Figure 6b, not a claim of the paper)",
    "none: the paper trains each N to convergence",
    "at an equal budget of examples seen, the optimal batch size still grows linearly with N",
    _C7_TEST,
    "slope 1, told apart from 0.5",
    "a seed",
    "batch_lr_scaling",
    _C7,
)
KEEP_NOISE_SCALE = Claim(
    "Rescaling B with the momentum keeps test accuracy",
    SMITH_LE + ", Figure 7b; the survey: rescale B when changing m",
    "B_opt proportional to 1/(1 - m): with B rescaled, test accuracy does not change with m",
    "rescaling the batch size by 1/(1 - m) when changing the momentum keeps test accuracy",
    "on the confirmatory seeds {confirm_seeds} only, at each momentum {momenta}: test acc of the run with B rescaled "
    "by 1/(1 - m) minus the reference run (m = 0, B = {reference_batch}) of the same seed; equivalent when the 90% "
    "t-interval of the mean difference lies inside +-{margin_points:g} points (TOST at 5%), different when it lies "
    "wholly outside. Equivalent at every momentum -> reproduced; different at any -> not reproduced; equivalent at "
    "some -> partly; else inconclusive. A run that did not complete leaves its momentum undecided; fewer than "
    "{min_pairs} pairs at a momentum, or no confirmatory seed in the records -> inconclusive",
    "within 1 point of the reference",
    "a seed (its runs at every momentum share the init)",
    "keep_noise_scale",
    {
        "confirm_seeds": (3, 4, 5, 6, 7),
        "momenta": (0.5, 0.9, 0.95),
        "reference_batch": 32,
        "margin_points": 1.0,
        "min_pairs": 3,
    },
    confirmatory="seeds 3-7; seeds 0-2 are exploratory",
)
C8 = Claim(
    "C8 increase the batch size instead of decaying the lr",
    "Smith, Kindermans, Ying, Le (ICLR 2018)",
    "WRN-16-4: decay lr 94.3% (~80k updates), increase B 94.4% (~29k)",
    "multiplying B by k where the lr would be divided by k gives the same test accuracy with fewer updates",
    "test acc of increase_batch minus decay_lr, paired by seed (the schedules share the init): equivalent when the "
    "1 - 2 x {alpha:g} t-interval lies inside +-{margin_points:g} points (TOST at {alpha:g}: the 5% level halved, the "
    "data were looked at after 3 and after 6 seeds), different when it lies wholly outside. Fewer updates in every "
    "pair, equivalent, and the constant-lr control different from decay_lr (by the same rule) -> reproduced; "
    "equivalent but the control not shown different -> partly; different, or not fewer updates -> not reproduced; "
    "else inconclusive; fewer than {min_pairs} pairs, or a run of these three schedules not completed -> inconclusive",
    "within 0.5 points, fewer updates",
    "a seed (its runs under every schedule share the init)",
    "schedule_vs_batch",
    {"margin_points": 0.5, "alpha": 0.025, "min_pairs": 3},
)

SURVEY_C9 = "the survey; Bartlett et al. 2017, Neyshabur et al. 2015 and 2017, Golowich et al. 2018"
_C9_FIT = "runs that do not reach train acc >= {fit:.0%} make their depth inconclusive"
C9_VACUOUS = Claim(
    "C9 complexity bounds are vacuous, the validation bound is not",
    SURVEY_C9,
    "VC and norm-based bounds of deep nets exceed 1; validation gives a usable guarantee (Kawaguchi et al.)",
    "bounds from the VC dimension, the weights' norms or their spectral complexity say nothing about the test "
    "error of a trained net, while the validation bound does",
    "for every true-label run at every depth: each of the VC, Neyshabur-Tomioka-Srebro, Golowich-Rakhlin-Shamir "
    "and Bartlett-Foster-Telgarsky bounds > {vacuous:g} (vacuous on the 0-1 error scale, taken in their most "
    "favourable form), and the run's validation bound (val error + sqrt(ln(1/{delta:g}) / (2 m_val))) < "
    "{chance_err:g} -> reproduced; a complexity bound <= {vacuous:g}, or a validation bound >= {chance_err:g}, -> not "
    "reproduced; " + _C9_FIT,
    "every complexity bound > 1; the validation bound below the error of chance",
    "a seed (its own init and order)",
    "complexity_bounds",
    {"vacuous": 1.0, "chance_err": 0.9, "delta": 0.05, "fit": 0.99},
    confirmatory="declared with the experiment, before its runs",
)
C9_DEPTH = Claim(
    "C9 norm-based bounds grow with depth, training error does not",
    SURVEY_C9,
    "the 2^L and product-of-norms factors make norm-based bounds grow with depth, while deeper nets fit as well",
    "norm-based bounds grow exponentially with depth although deeper networks fit the training data at least as well",
    "true-label runs: the OLS slope of log10 bound against depth, 95% t-interval over every run (each its own "
    "seed), > 0 for both norm-based bounds (Neyshabur-Tomioka-Srebro, Golowich-Rakhlin-Shamir), and every depth "
    "fits (train acc >= {fit:.0%}) -> reproduced; for one of the two -> partly; for neither -> not reproduced; "
    + _C9_FIT,
    "a positive slope of log bound in depth; every depth fitted",
    "a seed",
    "complexity_bounds",
    {"fit": 0.99},
    confirmatory="declared with the experiment, before its runs",
)
C9_LABELS = Claim(
    "C9 the spectral bound tells random labels from true ones, parameter counts cannot",
    "this project, after Bartlett et al. 2017 (Figure 1) and Neyshabur et al. 2017",
    "Bartlett et al.: the spectrally-normalised margin bound is larger on random labels",
    "the same network has the same parameter count on true and random labels, but its spectral complexity (over the "
    "margin) is larger when it memorized random labels",
    "pairs of a true-label and a random-label run of the same depth and seed (same init, same size: equal VC "
    "dimension, checked): the 95% paired t-interval of ln(BFT bound random / true) above ln {min_ratio:g} (at least "
    "{min_ratio:g}x larger on random labels) -> reproduced; below ln {min_ratio:g} (a smaller difference than a bound "
    "could use, none, or the wrong direction) -> not reproduced; else inconclusive; >= {min_pairs} pairs, both runs "
    "of a pair fitted (train acc >= {fit:.0%})",
    "a bound at least 1.5x larger on random labels",
    "a (depth, seed) pair sharing its init",
    "complexity_bounds",
    {"min_ratio": 1.5, "min_pairs": 3, "fit": 0.99},
    confirmatory="declared with the experiment, before its runs",
)

STABILITY_SRC = "Hardt, Recht & Singer (ICML 2016); Kuzborskij & Lampert (ICML 2018)"
C10_M = Claim(
    "C10 replace-one stability shrinks with m",
    STABILITY_SRC,
    "on-average stability O(1/m) for a full pass (convex and smooth); data-dependent in the non-convex case",
    "replacing one training example changes what SGD returns less the larger the training set",
    "the mean over pairs of the replace-one loss difference l(w'_T; z_i) - l(w_T; z_i) at each m; the OLS slope of "
    "its log against log m, 95% t-interval over the sizes (>= {min_sizes} sizes with a positive mean): below 0 -> "
    "reproduced (the slope is reported beside -1); holding 0 or above it -> not reproduced",
    "a negative slope (the O(1/m) bound: -1)",
    "a seed (its S and init; its pairs share them)",
    "sgd_stability",
    {"min_sizes": 4},
    confirmatory="declared with the experiment, before its runs",
)
C10_T = Claim(
    "C10 instability grows with the steps taken",
    STABILITY_SRC,
    "the stability bound grows with the number of steps T",
    "after SGD has visited the replaced example, the two runs drift further apart as training goes on",
    "per pair, the OLS slope of log ||w_t - w'_t|| against log t over the snapshot steps after the visit (>= 2 of "
    "them); the mean over pairs with a 95% interval from a bootstrap over seeds: above 0 -> reproduced; below 0, or "
    "inside +-{flat:g} (no growth) -> not reproduced; else inconclusive",
    "a positive slope",
    "a seed",
    "sgd_stability",
    {"flat": 0.05},
    confirmatory="declared with the experiment, before its runs",
)
C10_GAP = Claim(
    "C10 the expected gap equals the expected replace-one stability",
    "Shalev-Shwartz, Shamir, Srebro & Sridharan (JMLR 2010), Lemma 11: an identity in expectation",
    "E[test loss - train loss] = E[l(A(S^(i)); z_i) - l(A(S); z_i)]",
    "the generalization gap of the runs on S and the mean replace-one loss difference of their pairs agree (a check "
    "of the whole measurement)",
    "pooled over m: the mean of (stability - gap) / gap over the sizes, 95% interval from a bootstrap over "
    "seeds (a seed's gap and its pairs resampled together): holds 0 and lies within +-{tolerance:g} -> reproduced; "
    "excludes 0 -> not reproduced; else inconclusive",
    "agreement within 50% of the gap",
    "a seed",
    "sgd_stability",
    {"tolerance": 0.5},
    confirmatory="declared with the experiment, before its runs",
)
C10_CURVATURE = Claim(
    "C10 inits with lower curvature are more stable",
    KL,
    "the curvature of the risk at the initialization point governs the stability (and the gap)",
    "of several inits at one init gain, the less curved ones give a more stable SGD",
    "at m = {m} with >= {min_inits} inits (one init gain): Spearman rho(trace or top eigenvalue at init, the init's "
    "mean replace-one loss difference or distance) > 0 with Holm-adjusted p < {alpha:g} over the 4 tests -> "
    "reproduced; < 0 so -> not reproduced (wrong direction); else not reproduced",
    "a positive rank correlation",
    "an init (a seed, with its pairs)",
    "sgd_stability",
    {"m": 2000, "min_inits": 8, "alpha": 0.05},
    confirmatory="declared with the experiment, before its runs",
)

ALL = (
    C1_MEMORIZED,
    C1_TABLE1,
    C1_TABLE1_CNN,
    C1_FIG1A,
    C1_FIG1B,
    C1_FIG1C,
    C2,
    C3_DINH,
    C3_KESKAR,
    C4_HOLDS,
    C4_INFORMATIVE,
    C5_CURVATURE,
    C5_M,
    C5_PRESCREEN,
    GRADIENT_FLOW,
    C6,
    C7_EPS,
    C7_N,
    C7_M,
    C7_N_UPDATES,
    KEEP_NOISE_SCALE,
    C8,
    C9_VACUOUS,
    C9_DEPTH,
    C9_LABELS,
    C10_M,
    C10_T,
    C10_GAP,
    C10_CURVATURE,
)
BY_NAME = {c.name: c for c in ALL}


def of_report(report: str) -> tuple[Claim, ...]:
    """The claims a report decides, in declaration order (the dashboard's order)."""
    return tuple(c for c in ALL if c.report == report)
