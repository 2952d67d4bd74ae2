"""The cpu-scale reproduction plan: for each report in `experiments/`, the claims it decides and the
sweeps (Hydra commands) whose runs its records hold (the claims themselves are declared in `claims.py`).

`make reproduce` (`harness.reproduce`) carries it out; the dashboard (`harness.dashboard`) reads it
to list every claim, including those whose run records are not committed yet, and to print each
report's command.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from .claims import of_report


@dataclass(frozen=True)
class Report:
    name: str  # the folder experiments/<name>/ and the experiment's `name`
    sweeps: tuple[tuple[str, str], ...]  # (sweep dir under multirun/, overrides of `python -m harness -m`)
    minutes: float = 10.0  # expected wall time on the 2-core machine (for the progress estimate)

    @property
    def claims(self) -> tuple[str, ...]:
        """The dashboard rows this report decides: the claims declared with this report (claims.py)."""
        return tuple(c.name for c in of_report(self.name))


PLAN = (
    Report(
        "random_labels",
        (
            ("random_labels/cpu", "experiment=random_labels"),  # seeds 0-2, the step schedule (x0.1 at epoch 100)
            # Zhang et al.'s own schedule, lr x0.95 per epoch (docs/confirmatory.md)
            (
                "random_labels/zhang_schedule",
                "experiment=random_labels schedule=exponential schedule.gamma=0.95 trainer.max_epochs=100",
            ),
        ),
        minutes=60,
    ),
    Report(
        "zhang_table1",
        (("zhang_table1/cpu", "experiment=zhang_table1"), ("zhang_table1/cnn", "experiment=zhang_table1_cnn")),
        minutes=165,  # 18 MLP runs ~75 min; 2 small AlexNet runs on 20,000 images to 99% ~90 min
    ),
    Report(
        "randomizations",
        (("randomizations/cpu", "experiment=randomizations"),),
        minutes=3,
    ),
    Report(
        "corruption_sweep",
        (("corruption_sweep/cpu", "experiment=corruption_sweep"),),
        minutes=10,
    ),
    Report("adversarial", (("adversarial/cpu", "experiment=adversarial"),), minutes=60),
    Report(
        "sharp_minima",
        (
            ("sharp_minima/reparam", "experiment=sharp_minima"),
            ("sharp_minima/keskar", "experiment=sharp_minima_keskar"),
            # seeds 5-9: a re-run of seeds 0-4 left the accuracy CI's lower end at -0.04 (first set: +0.27)
            ("sharp_minima/keskar_more", "experiment=sharp_minima_keskar seed=5,6,7,8,9"),
            # the confirmatory set, declared before it ran (docs/confirmatory.md): it alone decides the verdict
            ("sharp_minima/keskar_confirm", "experiment=sharp_minima_keskar seed=10,11,12,13,14"),
        ),
        minutes=60,  # 20 Keskar runs to the same training loss, then the reparameterizations
    ),
    Report(
        "validation_bound",
        (("validation_bound/cpu", "experiment=validation_bound"),),
        minutes=5,
    ),
    Report(
        "init_curvature",
        (
            ("init_curvature/gains", "experiment=init_curvature"),
            ("init_curvature/gain1", "experiment=init_curvature model.init_gain=1.0 seed=range(8,48)"),
            ("init_curvature/m", "experiment=init_curvature_m"),
        ),
        minutes=20,
    ),
    Report(
        "prescreen",
        (("prescreen/cpu", "experiment=prescreen"),),
        minutes=15,
    ),
    Report(
        "gradient_flow",
        (("gradient_flow/cpu", "experiment=gradient_flow"),),
        minutes=15,
    ),
    Report(
        "learning_curve",
        (("learning_curve/mlp", "experiment=learning_curve"), ("learning_curve/cnn", "experiment=learning_curve_cnn")),
        minutes=265,  # the MLP's 24 runs ~45 min; the CNN's 15 runs, each size to 99% train accuracy, ~3.5 h (estimate)
    ),
    Report(
        "batch_lr_scaling",
        (
            (
                "batch_lr_scaling/eps",
                "experiment=batch_lr_scaling seed=0,1,2 optimizer.lr=0.01,0.025,0.05,0.1,0.2 "
                "trainer.batch_size=16,32,64,128,256,512,1024,2048,4096",
            ),
            # the confirmatory set for B_opt ~ eps (docs/confirmatory.md): new seeds, the same grid
            (
                "batch_lr_scaling/eps_confirm",
                "experiment=batch_lr_scaling seed=3,4,5,6,7,8 optimizer.lr=0.01,0.025,0.05,0.1,0.2 "
                "trainer.batch_size=16,32,64,128,256,512,1024,2048,4096",
            ),
            # N = 10,000 and m = 0 come from the eps sweep; B = 16 is left out where the optimum is far above it
            (
                "batch_lr_scaling/n",
                "experiment=batch_lr_scaling seed=0,1,2 optimizer.lr=0.05 data.subset=2500,5000,20000 "
                "trainer.batch_size=32,64,128,256,512,1024,2048",
            ),
            (
                "batch_lr_scaling/m",
                "experiment=batch_lr_scaling seed=0,1,2 optimizer.lr=0.01 "
                "optimizer.momentum=0.5,0.9,0.95 trainer.batch_size=32,64,128,256,512,1024,2048",
            ),
            # B x N at equal updates: epochs x N = 100,000 examples (N = 10,000 x 10 epochs is in the eps sweep)
            *(
                (
                    f"batch_lr_scaling/updates/n{n}",
                    f"experiment=batch_lr_scaling seed=0,1,2 optimizer.lr=0.05 data.subset={n} "
                    f"trainer.max_epochs={100_000 // n} trainer.batch_size=16,32,64,128,256,512,1024,2048",
                )
                for n in (2500, 5000, 20000)
            ),
        ),
        minutes=100,
    ),
    Report(
        "keep_noise_scale",
        (
            ("keep_noise_scale/cpu", "experiment=keep_noise_scale"),
            # the confirmatory set (docs/confirmatory.md): it alone decides the verdict
            ("keep_noise_scale/confirm", "experiment=keep_noise_scale seed=3,4,5,6,7"),
        ),
        minutes=35,
    ),
    Report(
        "complexity_bounds",
        (("complexity_bounds/cpu", "experiment=complexity_bounds"),),
        minutes=40,  # 36 MLP runs on 5,000 images, each to 99% train accuracy (1-2 min each)
    ),
    Report(
        "sgd_stability",
        (
            ("sgd_stability/refs", "experiment=sgd_stability"),  # the runs on S (their sweep subdirs: m<m>_s<seed>)
            ("sgd_stability/refs", "experiment=sgd_stability data.subset=2000 seed=range(10,26)"),  # inits for (d)
            ("sgd_stability/pairs", "experiment=sgd_stability_pairs"),  # the runs on S^(i)
            (
                "sgd_stability/pairs_inits",
                "experiment=sgd_stability_pairs data.subset=2000 seed=range(10,26) data.replace_index=range(0,500,50)",
            ),
        ),
        minutes=40,  # 680 one-pass MLP runs of a few seconds each
    ),
    Report(
        "schedule_vs_batch",
        (("schedule_vs_batch/cpu", "experiment=schedule_vs_batch"),),
        minutes=70,  # 24 runs (6 seeds)
    ),
)


def command(report: Report) -> str:
    """The commands that make a report's runs and then the report, as one line a user can paste."""
    sweeps = [f"python -m harness -m {shlex.join(o.split())} hydra.sweep.dir=multirun/{d}" for d, o in report.sweeps]
    dirs = " ".join(f"multirun/{d}" for d, _ in report.sweeps)
    return "; ".join(sweeps + [f"python -m harness.report {dirs}"])
