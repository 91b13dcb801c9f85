"""Conv nets near the hardware: achieved GFLOP/s of a conv model's training step against the fp32 matmul peak.

The peak is a big ``torch.matmul`` (fp32, N x N by N x N, 2 N^3 FLOPs), the best this CPU does with the same
number of torch threads. A training step's FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode``
around one real step of ``genzoo fit`` (forward, backward and every phase of a multi-phase model; the
optimizer's element-wise work is not counted, as it is not matmul/conv work), its time is the median step of
``genzoo fit`` over a few hundred batches (the EpochThroughput's training time, no validation). The
network-only time (the same step's kernels without Lightning: forward, backward, fused Adam on the same
model, in a plain loop) separates the framework's share from the kernels' own efficiency. Rounds alternate
peak, models, so that a shared machine slows them alike.

    python experiments/bench_flops.py [--batch 256] [--batches 40] [--rounds 3] [--extra "--model.channels_last true"]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from genzoo.cli.lightning import configure

MODELS = {
    "conv_vae": ["--model", "vae", "--model.backbone", "conv"],
    "conv_aegan": ["--model", "aegan", "--model.backbone", "conv"],
    # the MLP models of the peer benchmark, for the framework's share of a small step
    "vae": ["--model", "vae", "--model.hidden_dims", "[512]", "--model.latent_dim", "16"],
    "aae": ["--model", "aae", "--model.hidden_dims", "[512]", "--model.latent_dim", "16",
            "--model.latent_disc_dims", "[256]"],
}  # fmt: skip


def matmul_peak(n: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.matmul(a, b)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def build(model: str, batch: int, batches: int, root: Path, extra: list[str]):
    args = [*MODELS[model], *extra, "--data.batch_size", str(batch), "--trainer.max_epochs", "1",
            "--trainer.limit_train_batches", str(batches), "--trainer.limit_val_batches", "0",
            "--trainer.num_sanity_val_steps", "0", "--trainer.enable_progress_bar", "false",
            "--trainer.enable_checkpointing", "false",
            "--trainer.default_root_dir", str(root), "--trainer.enable_model_summary", "false"]  # fmt: skip
    return configure(args)


def step_flops(model: str, batch: int, root: Path, extra: list[str]) -> int:
    # one batch: limit_train_batches 1 would mean 100% to Lightning; max_steps 1 stops after the first batch
    cli = build(model, batch, 2, root, [*extra, "--trainer.max_steps", "1"])
    with FlopCounterMode(display=False) as counter:
        cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    return counter.get_total_flops()


def fit_step_seconds(model: str, batch: int, batches: int, root: Path, extra: list[str]) -> float:
    cli = build(model, batch, batches, root, extra)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    metrics = sorted(root.glob("*/version_*/metrics.csv"))[-1]
    row = [r for r in csv.DictReader(metrics.open()) if r.get("throughput/train_seconds")][-1]
    return float(row["throughput/train_seconds"]) / batches


def kernels_step_seconds(model: str, batch: int, batches: int, root: Path, extra: list[str]) -> float:
    """The same model's training_step with Lightning's loop replaced by a plain loop (no hooks, no logging)."""
    cli = build(model, batch, 2, root, [*extra, "--trainer.max_steps", "1"])
    net = cli.model
    cli.trainer.fit(net, datamodule=cli.datamodule)  # attaches the trainer, builds the optimizers
    x = torch.rand(batch, *net.image_shape)
    optimizers = [o.optimizer if hasattr(o, "optimizer") else o for o in cli.trainer.optimizers]
    net.train()
    if not net.multi_phase:
        opt = optimizers[0]

        def step() -> None:
            mu, logvar = net.posterior(x)
            z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(net.decoder_logits(z), x, reduction="sum")
            opt.zero_grad(set_to_none=True)
            (loss / batch + 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()).backward()
            opt.step()
    else:
        net.log_train = lambda *a, **k: None  # type: ignore[method-assign]
        for o in optimizers:  # the step calls self.update -> manual_backward: route to plain torch
            o.zero_grad()
        net.manual_backward = lambda loss, *a, **k: loss.backward()  # type: ignore[method-assign]
        net.optimizers = lambda: optimizers  # type: ignore[method-assign]

        def step() -> None:
            net.training_step((x, torch.zeros(batch, dtype=torch.long)), 1)

    step()
    start = time.perf_counter()
    for _ in range(batches):
        step()
    return (time.perf_counter() - start) / batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models", default="conv_vae,conv_aegan")
    parser.add_argument("--extra", default="", help="more `genzoo fit` flags, space-separated")
    parser.add_argument("--out", type=Path, default=Path("results/bench_flops.json"))
    args = parser.parse_args()
    extra = args.extra.split()
    models = args.models.split(",")
    load_before = os.getloadavg()
    rows: dict[str, dict] = {}
    peaks = []
    with tempfile.TemporaryDirectory() as tmp:
        flops = {m: step_flops(m, args.batch, Path(tmp) / f"flops-{m}", extra) for m in models}
        for rnd in range(args.rounds):
            peaks.append(matmul_peak())
            for m in models:
                fit = fit_step_seconds(m, args.batch, args.batches, Path(tmp) / f"fit-{m}-{rnd}", extra)
                kern = kernels_step_seconds(m, args.batch, args.batches, Path(tmp) / f"kern-{m}-{rnd}", extra)
                rows.setdefault(m, {"fit": [], "kernels": []})
                rows[m]["fit"].append(fit)
                rows[m]["kernels"].append(kern)
                print(f"round {rnd}: peak {peaks[-1]:.1f} GFLOP/s; {m}: fit {1000 * fit:.1f} ms/step, "
                      f"plain loop {1000 * kern:.1f} ms/step ({flops[m] / 1e9:.2f} GFLOP/step)",
                      flush=True)  # fmt: skip
    peak = statistics.median(peaks)
    result = {"batch": args.batch, "threads": torch.get_num_threads(), "extra": extra, "peak_gflops": peak,
              "peaks": peaks, "load_before": load_before, "load_after": os.getloadavg(), "models": {}}  # fmt: skip
    print(f"\nfp32 matmul peak {peak:.1f} GFLOP/s ({torch.get_num_threads()} threads), batch {args.batch}, "
          f"load {' '.join(f'{v:.2f}' for v in load_before)}")  # fmt: skip
    print("| model | GFLOP/step | genzoo fit ms/step | GFLOP/s | of peak | plain loop ms/step | GFLOP/s | of peak |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for m in models:
        fit, kern = statistics.median(rows[m]["fit"]), statistics.median(rows[m]["kernels"])
        g = flops[m] / 1e9
        result["models"][m] = {"gflop_per_step": g, "fit_seconds": fit, "kernel_seconds": kern,
                               "fit_gflops": g / fit, "kernel_gflops": g / kern}  # fmt: skip
        print(f"| {m} | {g:.2f} | {1000 * fit:.1f} | {g / fit:.1f} | {g / fit / peak:.0%} | {1000 * kern:.1f} | "
              f"{g / kern:.1f} | {g / kern / peak:.0%} |")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
