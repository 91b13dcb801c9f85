"""Where a training step's time goes: cProfile over ``trainer.fit`` of a few hundred batches of `genzoo fit`.

The model, data and Trainer are exactly those ``genzoo fit ARGS`` builds (``genzoo.cli.lightning.configure``),
validation off, so the profile is of the training loop alone. cProfile's self time of every function is put
into one of a few buckets by where the function lives (torch's C++ kernels, the optimizer, Lightning's
Python, torch.nn's Python, genzoo's Python, data loading, logging), and the host syncs (``Tensor.item``,
``__bool__``, ``__int__``/``__float__``, ``tolist``, ``cpu()``) are counted per step. cProfile adds a cost
to every Python call, so the shares of Python code are upper bounds; the step time without the profiler is
measured first, on the same objects' twins.

    python experiments/profile_step.py [--models vae,aae,aegan] [--batches 300] [--out results/profile.json]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import tempfile
import time
from pathlib import Path

import torch

from genzoo.cli.lightning import configure

MODEL_ARGS = {
    "vae": ["--model", "vae", "--model.hidden_dims", "[512]", "--model.latent_dim", "16"],
    "aae": ["--model", "aae", "--model.hidden_dims", "[512]", "--model.latent_dim", "16",
            "--model.latent_disc_dims", "[256]"],
    "aegan": ["--model", "aegan"],
    "conv_vae": ["--model", "vae", "--model.backbone", "conv"],
    "conv_aegan": ["--model", "aegan", "--model.backbone", "conv"],
}  # fmt: skip

SYNCS = ("method 'item'", "method '__bool__'", "method 'tolist'", "method 'cpu'", "method '__int__'",
         "method '__float__'", "_local_scalar_dense")  # fmt: skip


def bucket(file: str, name: str) -> str:
    if file == "~":  # a C function: torch kernels, or Python builtins
        if "_fused_adam" in name or "_foreach" in name:
            return "optimizer (kernels)"
        if "run_backward" in name:
            return "backward (kernels)"
        if "torch" in name or "Tensor" in name or "_C." in name:
            return "forward kernels and tensor ops"
        return "Python builtins"
    if "/torch/optim/" in file:
        return "optimizer (Python)"
    if "/torch/utils/data/" in file or "/genzoo/datamodules/" in file or "/numpy/" in file:
        return "data loading"
    if (
        "logger_connector" in file
        or "/loggers/" in file
        or "/torchmetrics/" in file
        or "/trainer/connectors/logger" in file
    ):
        return "logging (Lightning)"
    if "/pytorch_lightning/" in file or "/lightning_fabric/" in file or "/lightning_utilities/" in file:
        return "Lightning (loop, hooks, closure)"
    if "/torch/nn/" in file:
        return "torch.nn Python (Module.__call__, functional)"
    if "/torch/autograd/" in file or "/torch/_tensor.py" in file:
        return "backward (kernels)" if "backward" in name else "torch Python (other)"
    if "/genzoo/" in file:
        return "genzoo Python (models, losses, callbacks)"
    if "/torch/" in file:
        return "torch Python (other)"
    return "other Python (tqdm, stdlib)"


def build(model: str, batches: int, root: Path, extra: list[str]):
    args = [*MODEL_ARGS[model], *extra, "--trainer.max_epochs", "1", "--trainer.limit_train_batches", str(batches),
            "--trainer.limit_val_batches", "0", "--trainer.num_sanity_val_steps", "0",
            "--trainer.default_root_dir", str(root), "--trainer.enable_model_summary", "false"]  # fmt: skip
    cli = configure(args)
    return cli.trainer, cli.model, cli.datamodule


def profile(model: str, batches: int, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        trainer, net, dm = build(model, batches, Path(tmp) / "plain", extra)
        start = time.perf_counter()
        trainer.fit(net, datamodule=dm)
        plain = time.perf_counter() - start
        trainer, net, dm = build(model, batches, Path(tmp) / "profiled", extra)
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.runcall(trainer.fit, net, datamodule=dm)
        profiled = time.perf_counter() - start
    stats = pstats.Stats(profiler)
    buckets: dict[str, float] = {}
    syncs = 0
    calls = 0
    for (file, _line, name), (_cc, ncalls, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        key = bucket(file, name)
        buckets[key] = buckets.get(key, 0.0) + tottime
        calls += ncalls
        if file == "~" and any(s in name for s in SYNCS):
            syncs += ncalls
    total = sum(buckets.values())
    top = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:15]  # type: ignore[attr-defined]
    return {
        "model": model,
        "batches": batches,
        "ms_per_step": 1000 * plain / batches,
        "ms_per_step_profiled": 1000 * profiled / batches,
        "shares": {k: v / total for k, v in sorted(buckets.items(), key=lambda kv: -kv[1])},
        "host_syncs_per_step": syncs / batches,
        "python_calls_per_step": calls / batches,
        "top_self_time": [
            {"function": f"{Path(f).name}:{line}:{n}", "ms_per_step": 1000 * tt / batches}
            for (f, line, n), (_cc, _nc, tt, _ct, _c) in top
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="vae,aae,aegan")
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--extra", default="", help="more `genzoo fit` flags, space-separated")
    parser.add_argument("--out", type=Path, default=Path("results/profile_step.json"))
    args = parser.parse_args()
    results = [profile(m, args.batches, args.extra.split()) for m in args.models.split(",")]
    for r in results:
        print(f"\n{r['model']}: {r['ms_per_step']:.2f} ms/step ({r['ms_per_step_profiled']:.2f} under cProfile), "
              f"{r['host_syncs_per_step']:.2f} host syncs/step, {r['python_calls_per_step']:.0f} Python calls/step, "
              f"{torch.get_num_threads()} thread(s)")  # fmt: skip
        for k, v in r["shares"].items():
            print(f"  {v:6.1%}  {k}")
        for t in r["top_self_time"][:10]:
            print(f"    {t['ms_per_step']:.3f} ms  {t['function']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
