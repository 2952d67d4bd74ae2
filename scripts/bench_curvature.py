"""Curvature toolkit benchmarks (issue 5): cost of one HVP, Lanczos vs power iteration, and the
harness against the peer library hessian-eigenthings (`pip install hessian-eigenthings`).

Setting: a model at initialization (the init_curvature setting) on a fixed 2,048-image sample of
the training set (real CIFAR-10 if HARNESS_DATA holds it, else synthetic CIFAR-shaped data), eval
mode, float32, one process.

    python scripts/bench_curvature.py [--models mlp_1x512,alexnet_small] [--sample 2048] [--device cpu]
                                      [--out experiments/performance/bench_curvature.csv] [--note TEXT]

Prints one line per measurement, `key=value` pairs; ratios are harness / baseline measured in the
same run. Appends one CSV row per model to `--out` (header written when the file is new): date (UTC,
the run's start), machine, torch version, git commit, the arguments, the HVP/gradient cost, the HVP
counts of each solver and the comparison with the peer (empty with --skip-peer).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from bench import PERF_DIR, append_csv, provenance  # scripts/bench.py: the shared CSV provenance
from hydra import compose, initialize_config_module

from harness.app import register_resolvers
from harness.probes import curvature as C
from harness.train import data as data_mod
from harness.train import models
from harness.train.transforms import BatchTransform, input_shape

FIELDS = [
    "date",
    "machine",
    "torch",
    "commit",
    "device",
    "threads",
    "model",
    "data",
    "images",
    "params",
    "chunk",
    "hvp_mode",
    "reps",
    "grad_s",
    "hvp_s",
    "hvp_over_grad",
    "top_eig",
    "arpack_hvps",
    "arpack_ncv20_hvps",
    "lanczos_hvps",
    "power_hvps_to_1pct",
    "power_hvps_stop_rule",
    "convergence_s",
    "peer_version",
    "tol",
    "harness_arpack_eig",
    "harness_arpack_hvps",
    "harness_arpack_s",
    "harness_lanczos_eig",
    "harness_lanczos_hvps",
    "harness_lanczos_s",
    "peer_eig",
    "peer_hvps",
    "peer_s",
    "arpack_time_ratio",
    "lanczos_time_ratio",
    "trace_samples",
    "harness_trace",
    "harness_trace_se",
    "harness_trace_hvps",
    "harness_trace_s",
    "peer_trace",
    "peer_trace_se",
    "peer_trace_hvps",
    "peer_trace_s",
    "trace_time_ratio",
    "note",
]


def setup(model_name: str, sample: int, device: torch.device, seed: int = 0):
    register_resolvers()
    real = os.environ.get("HARNESS_DATA") and os.path.isfile(os.path.join(os.environ["HARNESS_DATA"], "cifar10.npz"))
    with initialize_config_module("harness.configs", version_base="1.3"):
        cfg = compose(
            "config",
            overrides=[
                f"model={model_name}",
                "logger=none",
                *([] if real else ["data=synthetic", f"data.train_size={sample}"]),
            ],
        )
    data = data_mod.prepare(cfg.data, device)
    transform = BatchTransform(cfg.data.preprocess, False, False, data.channel_mean, data.channel_std)
    idx = torch.randperm(len(data.train_y), generator=torch.Generator().manual_seed(0))[:sample].to(device)
    x, y = transform(data.train_x[idx], train=False), data.train_y[idx]
    torch.manual_seed(seed)
    model = models.build(cfg.model, input_shape(cfg.data.preprocess)).to(device).eval()
    return model, x, y, "cifar10" if real else "synthetic"


def timed(fn, reps):
    fn()  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def cost(risk, reps):
    """Seconds of one gradient and one HVP of the same risk: medians of interleaved timings, so
    that a busy machine slows both alike."""
    v = torch.randn(risk.dim, device=risk.device)
    grads, hvps = [], []
    for _ in range(reps):
        grads.append(timed(lambda: risk.loss_and_grad(), 1))
        hvps.append(timed(lambda: risk.hvp(v), 1))
    return statistics.median(grads), statistics.median(hvps)


def lanczos_vs_power(risk, max_power):
    ref = C.top_eigenvalues(risk, k=1, tol=1e-8)["eigenvalues"][0]
    out = {"reference": ref}
    for name, kwargs in (("arpack", {}), ("arpack_ncv20", {"ncv": 20}), ("lanczos", {"solver": "lanczos"})):
        r = C.top_eigenvalues(risk, k=1, tol=1e-2, **kwargs)
        out[name] = (r["hvps"], abs(r["eigenvalues"][0] - ref) / abs(ref))
    p = C.power_iteration(risk, max_hvps=max_power, rtol=0)
    within = [i + 1 for i, e in enumerate(p["history"]) if abs(e - ref) <= 0.01 * abs(ref)]
    out["power_to_1pct"] = within[0] if within else None  # with an oracle that knows the answer
    out["power_hvps_run"] = len(p["history"])
    # with a stopping rule a user can apply (estimate changed by < 0.1% in one step)
    stop = next(
        (
            i + 1
            for i in range(1, len(p["history"]))
            if abs(p["history"][i] - p["history"][i - 1]) <= 1e-3 * abs(p["history"][i])
        ),
        None,
    )
    out["power_rule"] = (stop, abs(p["history"][stop - 1] - ref) / abs(ref) if stop else None)
    return out


class Counted:
    """Count matvecs of a hessian-eigenthings operator."""

    def __init__(self, op):
        self.op, self.count = op, 0

    def __getattr__(self, name):
        return getattr(self.op, name)

    def matvec(self, v):
        self.count += 1
        return self.op.matvec(v)


def peer(model, x, y, chunk, risk, tol, trace_samples):
    import hessian_eigenthings as he

    batches = C.make_batches(x, y, chunk)
    op = Counted(he.HessianOperator(model, batches, he.supervised_loss(F.cross_entropy)))
    ref = C.top_eigenvalues(risk, k=1, tol=1e-8)["eigenvalues"][0]
    rows = {}
    # harness: both solvers with the tolerance
    for solver in ("arpack", "lanczos"):
        risk.hvps = 0
        t0 = time.perf_counter()
        ours = C.top_eigenvalues(risk, k=1, tol=tol, solver=solver)
        rows[f"harness_eig_{solver}"] = (ours["eigenvalues"][0], ours["hvps"], time.perf_counter() - t0)
    # peer: fixed-length Lanczos; the shortest run its own residual test calls converged at tol
    for steps in (5, 10, 15, 20, 30, 40, 60):
        op.count = 0
        t0 = time.perf_counter()
        res = he.lanczos(op, k=1, max_iter=steps, tol=tol, which="LA", seed=0)
        seconds = time.perf_counter() - t0
        if bool(res.converged[0]):
            rows["peer_eig"] = (float(res.eigenvalues[0]), op.count, seconds)
            break
    risk.hvps = 0
    t0 = time.perf_counter()
    tr = C.hutchinson_trace(risk, trace_samples, seed=0)
    rows["harness_trace"] = (tr["trace"], tr["se"], risk.hvps, time.perf_counter() - t0)
    op.count = 0
    t0 = time.perf_counter()
    ptr = he.hutchinson(op, num_samples=trace_samples, seed=0)
    rows["peer_trace"] = (ptr.estimate, ptr.stderr, op.count, time.perf_counter() - t0)
    return ref, rows


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", default="mlp_1x512,alexnet_small")
    p.add_argument("--sample", type=int, default=2048)
    p.add_argument("--chunk", type=int, default=1024)
    p.add_argument("--device", default="cpu")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--max-power", type=int, default=300)
    p.add_argument("--tol", type=float, default=1e-3)
    p.add_argument("--trace-samples", type=int, default=100)
    p.add_argument("--skip-peer", action="store_true")
    p.add_argument("--hvp", default="forward_over_reverse", choices=["forward_over_reverse", "reverse_over_reverse"])
    p.add_argument("--checkpoint", default=None, help="a run dir's checkpoint.pt: measure the trained model")
    p.add_argument("--out", default=str(PERF_DIR / "bench_curvature.csv"), help="CSV file the rows are appended to")
    p.add_argument(
        "--note",
        default=os.environ.get("BENCH_NOTE", ""),
        help="free text for the CSV's note column, e.g. the machine's load (default: $BENCH_NOTE)",
    )
    args = p.parse_args()
    device = torch.device(args.device)
    print(f"torch={torch.__version__} threads={torch.get_num_threads()} device={device}")
    if not args.skip_peer and importlib.util.find_spec("hessian_eigenthings") is None:
        print("hessian-eigenthings is not installed (pip install --pre -e '.[bench]'): skipping the peer comparison")
        args.skip_peer = True
    meta = {
        **provenance(str(device)),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "chunk": args.chunk,
        "hvp_mode": args.hvp,
        "reps": args.reps,
        "note": args.note,
    }
    append_csv(args.out, FIELDS, [])  # header now (new file) or refuse a file with other columns before measuring
    for name in args.models.split(","):
        model, x, y, source = setup(name, args.sample, device)
        if args.checkpoint:
            model.load_state_dict(torch.load(args.checkpoint, map_location=device, weights_only=True)["model"])
            name += "(trained)"
        risk = C.EmpiricalRisk(model, C.make_batches(x, y, args.chunk), "eval", args.hvp)
        grad_s, hvp_s = cost(risk, args.reps)
        row = {
            **meta,
            "model": name,
            "data": source,
            "images": len(y),
            "params": risk.dim,
            "grad_s": f"{grad_s:.4f}",
            "hvp_s": f"{hvp_s:.4f}",
            "hvp_over_grad": f"{hvp_s / grad_s:.3f}",
        }
        print(
            f"cost model={name} hvp={args.hvp} data={source} images={len(y)} params={risk.dim} grad_s={grad_s:.4f} "
            f"hvp_s={hvp_s:.4f} hvp_over_grad={hvp_s / grad_s:.2f}",
            flush=True,
        )
        t0 = time.perf_counter()
        lp = lanczos_vs_power(risk, args.max_power)
        row.update(
            top_eig=f"{lp['reference']:.6g}",
            arpack_hvps=lp["arpack"][0],
            arpack_ncv20_hvps=lp["arpack_ncv20"][0],
            lanczos_hvps=lp["lanczos"][0],
            power_hvps_to_1pct=lp["power_to_1pct"],
            power_hvps_stop_rule=lp["power_rule"][0],
            convergence_s=f"{time.perf_counter() - t0:.1f}",
        )
        print(
            f"convergence model={name} top_eig={lp['reference']:.6g} "
            + " ".join(
                f"{k}_hvps_tol1e-2={lp[k][0]} (rel_err={lp[k][1]:.1e})" for k in ("arpack", "arpack_ncv20", "lanczos")
            )
            + " "
            f"power_hvps_to_1pct={lp['power_to_1pct']} (oracle; of {lp['power_hvps_run']} run) "
            f"power_hvps_stop_rule={lp['power_rule'][0]} (rel_err="
            + (f"{lp['power_rule'][1]:.1e})" if lp["power_rule"][0] else "n/a: did not stop)"),
            flush=True,
        )
        if args.skip_peer:
            append_csv(args.out, FIELDS, [row])
            continue
        ref, rows = peer(model, x, y, args.chunk, risk, args.tol, args.trace_samples)
        pe = rows.get("peer_eig")
        row.update(
            peer_version=importlib.metadata.version("hessian-eigenthings"),
            tol=args.tol,
            trace_samples=args.trace_samples,
        )
        if pe:
            row.update(peer_eig=f"{pe[0]:.6g}", peer_hvps=pe[1], peer_s=f"{pe[2]:.2f}")
        for solver in ("arpack", "lanczos"):
            e1, n1, s1 = rows[f"harness_eig_{solver}"]
            row.update(
                {f"harness_{solver}_eig": f"{e1:.6g}", f"harness_{solver}_hvps": n1, f"harness_{solver}_s": f"{s1:.2f}"}
            )
            if pe:
                row[f"{solver}_time_ratio"] = f"{s1 / pe[2]:.3f}"
                print(
                    f"peer_eig model={name} tol={args.tol} reference={ref:.6g} harness_{solver}={e1:.6g} hvps={n1} "
                    f"s={s1:.1f} peer={pe[0]:.6g} hvps={pe[1]} s={pe[2]:.1f} "
                    f"rel_diff={abs(e1 - pe[0]) / abs(pe[0]):.1e} "
                    f"hvp_ratio={n1 / pe[1]:.2f} time_ratio={s1 / pe[2]:.2f}",
                    flush=True,
                )
            else:
                print(f"peer_eig model={name} peer did not converge within 60 Lanczos steps", flush=True)
        (t1, se1, m1, ts1), (t2, se2, m2, ts2) = rows["harness_trace"], rows["peer_trace"]
        print(
            f"peer_trace model={name} samples={args.trace_samples} harness={t1:.6g}+-{se1:.3g} hvps={m1} s={ts1:.1f} "
            f"peer={t2:.6g}+-{se2:.3g} hvps={m2} s={ts2:.1f} rel_diff={abs(t1 - t2) / abs(t2):.1e} "
            f"diff_in_se={abs(t1 - t2) / np.hypot(se1, se2):.2f} time_ratio={ts1 / ts2:.2f}",
            flush=True,
        )
        row.update(
            harness_trace=f"{t1:.6g}",
            harness_trace_se=f"{se1:.3g}",
            harness_trace_hvps=m1,
            harness_trace_s=f"{ts1:.2f}",
            peer_trace=f"{t2:.6g}",
            peer_trace_se=f"{se2:.3g}",
            peer_trace_hvps=m2,
            peer_trace_s=f"{ts2:.2f}",
            trace_time_ratio=f"{ts1 / ts2:.3f}",
        )
        append_csv(args.out, FIELDS, [row])
    print(f"rows appended to {args.out}")


if __name__ == "__main__":
    main()
