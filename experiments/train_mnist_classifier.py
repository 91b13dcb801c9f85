"""Train the MNIST domain classifier behind genzoo's FID/KID/precision/recall/coverage on MNIST.

    .venv/bin/python experiments/train_mnist_classifier.py            # writes genzoo/metrics/weights/

Recipe (all fixed by the arguments below, seed included, so a rerun on the same machine and thread
count reproduces the weights): genzoo's MNIST training split (55,000 images; the 5,000 validation
images held out by genzoo's datamodule are used only to report accuracy), random translations of up
to 2 pixels, AdamW with a one-cycle learning-rate schedule, cross-entropy. The network is
``genzoo.metrics.features.MNISTClassifierNet``. The script writes the weights
(``mnist_classifier.pt``) and, beside them, ``mnist_classifier.json``: the recipe, validation and test
accuracy, the weights' sha256, the package versions and the time taken. It refuses to write weights
that classify the test split below ``--min-test-accuracy``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from genzoo.datamodules.mnist import MNISTDataModule
from genzoo.metrics.features import MNIST_CLASSIFIER_WEIGHTS, MNISTClassifierNet, file_sha256


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by a whole number of pixels in [-max_shift, max_shift] in x and y (zero fill)."""
    n, _, h, w = images.shape
    shifts = torch.randint(-max_shift, max_shift + 1, (n, 2), generator=generator)
    padded = F.pad(images, (max_shift,) * 4)
    rows = (torch.arange(h)[None, :] + max_shift - shifts[:, :1]).clamp(0, h + 2 * max_shift - 1)  # (N, H)
    cols = (torch.arange(w)[None, :] + max_shift - shifts[:, 1:]).clamp(0, w + 2 * max_shift - 1)  # (N, W)
    batch = torch.arange(n)[:, None, None]
    return padded[:, 0][batch, rows[:, :, None], cols[:, None, :]].unsqueeze(1)  # (N, 1, H, W)


@torch.no_grad()
def accuracy(net: MNISTClassifierNet, images: torch.Tensor, labels: torch.Tensor) -> float:
    net.eval()
    correct = 0
    for start in range(0, len(images), 1000):
        _, logits = net(images[start : start + 1000].float() / 255)
        correct += (logits.argmax(1) == labels[start : start + 1000]).sum().item()
    return correct / len(images)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--pct-start", type=float, default=0.25, help="fraction of steps warming the rate up")
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--max-shift", type=int, default=2, help="largest random translation in pixels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=MNIST_CLASSIFIER_WEIGHTS)
    parser.add_argument("--min-test-accuracy", type=float, default=0.99)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    data = MNISTDataModule()
    data.setup()
    train, val, test = (data.splits[s] for s in ("train", "val", "test"))

    net = MNISTClassifierNet()
    optimizer = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = len(train) // args.batch_size
    total_steps = args.epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, args.lr, total_steps, pct_start=args.pct_start)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        net.train()
        order = torch.randperm(len(train), generator=generator)
        total = 0.0
        for step in range(steps_per_epoch):
            idx = order[step * args.batch_size : (step + 1) * args.batch_size]
            x = random_shift(train.images[idx].float() / 255, args.max_shift, generator)
            _, logits = net(x)
            loss = F.cross_entropy(logits, train.labels[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item()
        val_acc = accuracy(net, val.images, val.labels)
        print(
            f"epoch {epoch + 1}/{args.epochs}: train loss {total / steps_per_epoch:.4f}, val accuracy {val_acc:.4f}",
            flush=True,
        )
    seconds = time.perf_counter() - start

    test_acc = accuracy(net, test.images, test.labels)
    print(f"test accuracy {test_acc:.4f} ({seconds:.0f} s)")
    if test_acc < args.min_test_accuracy:
        print(f"error: test accuracy {test_acc:.4f} < {args.min_test_accuracy}; weights not written", file=sys.stderr)
        return 1

    args.out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=args.out.parent, suffix=".pt")
    os.close(fd)
    torch.save(net.state_dict(), tmp)
    os.replace(tmp, args.out)
    record = {
        "script": "experiments/train_mnist_classifier.py",
        "network": "genzoo.metrics.features.MNISTClassifierNet",
        "parameters": sum(p.numel() for p in net.parameters()),
        "recipe": {
            "train_split": f"genzoo mnist train ({len(train)} images; val {len(val)} held out)",
            "augmentation": f"random translation up to {args.max_shift} px",
            "optimizer": f"AdamW(weight_decay {args.weight_decay})",
            "schedule": f"OneCycleLR(peak lr {args.lr}, pct_start {args.pct_start})",
            "regularisation": "dropout 0.3 before the last layer",
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "seed": args.seed,
        },
        "val_accuracy": accuracy(net, val.images, val.labels),
        "test_accuracy": test_acc,
        "sha256": file_sha256(args.out),
        "seconds": round(seconds, 1),
        "threads": torch.get_num_threads(),
        "versions": {"python": platform.python_version(), "torch": torch.__version__},
    }
    args.out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB) and {args.out.with_suffix('.json').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
