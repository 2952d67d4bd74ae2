"""One analysis function per experiment: the runs of a sweep -> (tables, figures).

Each takes the sweep's runs (`records.Run`: config, summary, metrics, small result files) and the output folder, writes
its figures there, and returns ({table name: rows}, [figure paths]); `report.py` writes the tables
and adds the validation-bound table (docs/claims.md, C4). A new experiment registers its function here;
each file is named after the experiment it analyses (common.py: what they share).
"""

from .adversarial import adversarial
from .batch_lr_scaling import batch_lr_scaling
from .complexity_bounds import complexity_bounds
from .corruption_sweep import corruption_sweep
from .gradient_flow import gradient_flow
from .init_curvature import init_curvature
from .keep_noise_scale import keep_noise_scale
from .learning_curve import learning_curve
from .prescreen import prescreen
from .random_labels import random_labels
from .randomizations import randomizations
from .schedule_vs_batch import schedule_vs_batch
from .sgd_stability import sgd_stability
from .sharp_minima import sharp_minima
from .validation_bound import validation_bound
from .zhang_table1 import zhang_table1

ANALYSES = {
    "random_labels": random_labels,
    "zhang_table1": zhang_table1,
    "randomizations": randomizations,
    "corruption_sweep": corruption_sweep,
    "batch_lr_scaling": batch_lr_scaling,
    "schedule_vs_batch": schedule_vs_batch,
    "init_curvature": init_curvature,
    "sharp_minima": sharp_minima,
    "learning_curve": learning_curve,
    "adversarial": adversarial,
    "validation_bound": validation_bound,
    "prescreen": prescreen,
    "gradient_flow": gradient_flow,
    "keep_noise_scale": keep_noise_scale,
    "complexity_bounds": complexity_bounds,
    "sgd_stability": sgd_stability,
}
