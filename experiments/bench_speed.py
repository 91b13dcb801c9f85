"""Speed of `genzoo fit` against a plain hand-written PyTorch loop, side by side in one process.

The network is the VAE with an MLP backbone (784-512-latent 16), batch 128, on the same in-memory MNIST
training split (55,000 images as one uint8 tensor). Both sides count training batches only (genzoo's
EpochThroughput callback; the loop times itself). Rounds alternate between the sides so a noisy machine
affects all alike; ratios are reported per round and as medians.

Two hand-written loops are timed: the plain one (``torch.optim.Adam`` with its defaults, what a user
writes) and one with the fused Adam that genzoo uses, so the report separates genzoo's optimizer choice
from the framework's own per-step cost.

    python experiments/bench_speed.py [--rounds 3] [--out results/bench_speed.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from genzoo.cli import main as genzoo_main
from genzoo.datamodules.mnist import MNISTDataModule

BATCH, LATENT, HIDDEN = 128, 16, 512


def hand_written_epoch(images: torch.Tensor, fused: bool = False) -> float:
    """One epoch of a minimal VAE training loop; returns images/s."""
    encoder = nn.Sequential(nn.Linear(784, HIDDEN), nn.LeakyReLU(0.2), nn.Linear(HIDDEN, 2 * LATENT))
    decoder = nn.Sequential(nn.Linear(LATENT, HIDDEN), nn.LeakyReLU(0.2), nn.Linear(HIDDEN, 784))
    opt = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=1e-3, fused=fused or None)
    n_batches = len(images) // BATCH
    start = time.perf_counter()
    order = torch.randperm(len(images))
    for i in range(n_batches):
        x = images[order[i * BATCH : (i + 1) * BATCH]].float().div_(255).flatten(1)
        mu, logvar = encoder(x).chunk(2, dim=1)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        recon = F.binary_cross_entropy_with_logits(decoder(z), x, reduction="none").sum(1).mean()
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()
        opt.zero_grad(set_to_none=True)
        (recon + kl).backward()
        opt.step()
    return n_batches * BATCH / (time.perf_counter() - start)


def genzoo_epoch(root: Path) -> float:
    """One epoch of `genzoo fit --model vae` with default settings; returns images/s from its metrics."""
    args = ["fit", "--model", "vae", "--model.hidden_dims", "[512]", "--model.latent_dim", str(LATENT)]
    args += ["--model.lr", "0.001"]  # the loop's (the VAE's own default is higher)
    args += ["--data.batch_size", str(BATCH), "--trainer.max_epochs", "1", "--trainer.default_root_dir", str(root)]
    args += ["--test_after_fit", "false", "--trainer.enable_model_summary", "false"]
    if genzoo_main(args) != 0:
        raise SystemExit("genzoo fit failed")
    metrics = sorted(root.glob("vae-mnist/version_*/metrics.csv"))[-1]
    rows = [r for r in csv.DictReader(metrics.open()) if r.get("throughput/images_per_s")]
    return float(rows[-1]["throughput/images_per_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("results/bench_speed.json"))
    args = parser.parse_args()

    dm = MNISTDataModule()
    dm.setup()
    images = dm.splits["train"].images  # the same tensor genzoo trains on
    hand_written_epoch(images[:5000])  # warm-up: allocator, threads
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            plain = hand_written_epoch(images)
            fused = hand_written_epoch(images, fused=True)
            ours = genzoo_epoch(Path(tmp) / f"round{r}")
            rounds.append(
                {
                    "plain_loop_images_per_s": plain,
                    "fused_adam_loop_images_per_s": fused,
                    "genzoo_images_per_s": ours,
                    "ratio_vs_plain_loop": ours / plain,
                    "ratio_vs_fused_adam_loop": ours / fused,
                }
            )
            print(
                f"round {r}: plain loop {plain:,.0f} img/s, fused-Adam loop {fused:,.0f} img/s, "
                f"genzoo fit {ours:,.0f} img/s; ratios {ours / plain:.3f} / {ours / fused:.3f}"
            )
    result = {
        "benchmark": "VAE MLP 784-512-16, batch 128, MNIST train split (55,000), CPU",
        "torch_threads": torch.get_num_threads(),
        "rounds": rounds,
        "median_ratio_vs_plain_loop": statistics.median(r["ratio_vs_plain_loop"] for r in rounds),
        "median_ratio_vs_fused_adam_loop": statistics.median(r["ratio_vs_fused_adam_loop"] for r in rounds),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(
        f"median ratio genzoo / plain loop: {result['median_ratio_vs_plain_loop']:.3f}; "
        f"genzoo / fused-Adam loop: {result['median_ratio_vs_fused_adam_loop']:.3f} (written to {args.out})"
    )


if __name__ == "__main__":
    main()
