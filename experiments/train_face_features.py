"""Train the face feature network behind genzoo's offline FID/KID/precision/recall on faces.

    OMP_NUM_THREADS=1 .venv/bin/python experiments/train_face_features.py \\
        --celeba ../shared/data/celeba_sample --anime ../shared/data/anime_sample    # writes genzoo/metrics/weights/

The network is ``genzoo.metrics.features.FaceFeatureNet`` (faces at 32x32, 128-d features). Objective:

- contrastive (SimCLR's NT-Xent): two augmented views of each image must find each other among all
  views of the batch. The augmentations are the ones a face metric may ignore: a horizontal flip, a
  crop of 75-100% of the side at a random place (then shrunk to 32x32, which never enlarges, so the
  crop does not blur), and mild brightness, contrast and saturation changes (+-20%). No blur and no
  noise: the metric must stay sensitive to both;
- supervised on CelebA's 40 attributes (binary cross-entropy, a linear read-out of the features) for
  the labelled training images, so that smiles, glasses and gender are in the features.

Each step takes as many CelebA as anime images, so both kinds of face shape the features. Data:
genzoo's datamodules with the files' own splits. CelebA: the official partition (train for training,
val for the held-out figures, test left alone for FID checks); a fixed, seeded slice of the labelled
training images (``--attribute-holdout``) is kept out of all training and measures attribute accuracy.
Anime: the datamodule's hash split (train / val / test), likewise.

The script writes the weights (``face_features.pt``) and ``face_features.json`` beside them: the
recipe, held-out figures (instance retrieval accuracy, attribute accuracy against the majority
baseline, FID between the val and test splits), the sha256, versions and time. It refuses to write
weights whose held-out attribute accuracy does not beat the majority baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import torch
import torch.nn.functional as F

from genzoo.datamodules.anime import AnimeDataModule
from genzoo.datamodules.celeba import CELEBA_ATTRIBUTES, CelebADataModule
from genzoo.metrics.features import FACE_FEATURES_WEIGHTS, FACE_SIZE, FaceFeatureNet, face_input, file_sha256
from genzoo.metrics.sample_quality import fid_kid

SOURCE_SIZE = 64  # faces are decoded at twice the network's side, so crops are shrunk, never enlarged
REPORTED_ATTRIBUTES = ("Smiling", "Eyeglasses", "Male")


def augment(images: torch.Tensor, generator: torch.Generator, min_crop: float, jitter: float) -> torch.Tensor:
    """uint8 (B, 3, 64, 64) -> one augmented float view (B, 3, 32, 32): crop, flip, colour; no blur, no noise."""
    n, _, h, w = images.shape
    sides = torch.randint(int(min_crop * h), h + 1, (n,), generator=generator)
    views = []
    for image, side in zip(images, sides.tolist()):
        top, left = (torch.randint(0, h - side + 1, (2,), generator=generator)).tolist()
        crop = image[None, :, top : top + side, left : left + side].float() / 255
        views.append(face_input(crop))
    x = torch.cat(views)
    flip = torch.rand(n, generator=generator) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)

    def factor() -> torch.Tensor:
        return 1 + (torch.rand(n, 1, 1, 1, generator=generator) * 2 - 1) * jitter

    x = x * factor()  # brightness
    gray = (0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:]).clamp(0, 1)
    x = gray + (x - gray) * factor()  # saturation
    mean = gray.mean((2, 3), keepdim=True)
    x = mean + (x - mean) * factor()  # contrast
    return x.clamp(0, 1)


def nt_xent(z: torch.Tensor, temperature: float) -> tuple[torch.Tensor, float]:
    """SimCLR's loss on 2B projections (view a of image i at i, view b at B + i); and top-1 retrieval accuracy."""
    z = F.normalize(z, dim=1)
    n = len(z) // 2
    sim = z @ z.T / temperature
    sim.fill_diagonal_(float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return F.cross_entropy(sim, target), (sim.argmax(1) == target).float().mean().item()


@torch.no_grad()
def retrieval_accuracy(net: FaceFeatureNet, images: torch.Tensor, seed: int, args: argparse.Namespace) -> float:
    """Held-out instance retrieval: of two fixed augmented views per image, does each find its partner?"""
    net.eval()
    generator = torch.Generator().manual_seed(seed)
    correct, total = 0.0, 0
    for start in range(0, len(images), 256):
        batch = images[start : start + 256]
        views = torch.cat([augment(batch, generator, args.min_crop, args.jitter) for _ in range(2)])
        _, acc = nt_xent(net.projection(net(views)), args.temperature)
        correct, total = correct + acc * 2 * len(batch), total + 2 * len(batch)
    return correct / total


@torch.no_grad()
def features(net: FaceFeatureNet, images: torch.Tensor) -> torch.Tensor:
    net.eval()
    return torch.cat([net(face_input(images[i : i + 500].float() / 255)) for i in range(0, len(images), 500)])


def load(kind: str, root: str, cache_dir: str) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    cls = CelebADataModule if kind == "celeba" else AnimeDataModule
    dm = cls(root=root, size=SOURCE_SIZE, cache_dir=cache_dir)
    dm.prepare_data()
    dm.setup("fit")
    dm.setup("test")
    return {split: (d.images, d.labels) for split, d in dm.splits.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--celeba", required=True, help="CelebA root (as --data.root of genzoo's celeba data)")
    parser.add_argument("--anime", required=True, help="anime faces root (as --data.root of genzoo's anime data)")
    parser.add_argument("--cache-dir", default=None, help="decoded-image cache (default: a temporary folder)")
    parser.add_argument("--steps", type=int, default=450)
    parser.add_argument("--batch-per-domain", type=int, default=128, help="CelebA and anime images per step, each")
    parser.add_argument("--attribute-batch", type=int, default=32, help="labelled CelebA images per step")
    parser.add_argument("--attribute-weight", type=float, default=1.0)
    parser.add_argument("--attribute-holdout", type=int, default=100, help="labelled images kept out of training")
    parser.add_argument("--temperature", type=float, default=0.2)
    parser.add_argument("--min-crop", type=float, default=0.75, help="smallest crop, as a fraction of the side")
    parser.add_argument("--jitter", type=float, default=0.2, help="largest brightness/contrast/saturation change")
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=FACE_FEATURES_WEIGHTS)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        celeba = load("celeba", args.celeba, args.cache_dir or tmp)
        anime = load("anime", args.anime, args.cache_dir or tmp)
    celeba_train, celeba_labels = celeba["train"]
    labelled = (celeba_labels >= 0).all(1).nonzero().squeeze(1)
    labelled = labelled[torch.randperm(len(labelled), generator=torch.Generator().manual_seed(args.seed))]
    held_attr, train_attr = labelled[: args.attribute_holdout], labelled[args.attribute_holdout :]
    keep = torch.ones(len(celeba_train), dtype=torch.bool)
    keep[held_attr] = False
    celeba_pool = keep.nonzero().squeeze(1)  # the attribute hold-out is kept out of the contrastive pool too
    anime_train = anime["train"][0]
    print(
        f"training on {len(celeba_pool)} CelebA ({len(train_attr)} labelled) and {len(anime_train)} anime faces; "
        f"{len(held_attr)} labelled CelebA faces held out",
        flush=True,
    )

    net = FaceFeatureNet()
    optimizer = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, args.lr, args.steps, pct_start=0.2)
    b = args.batch_per_domain
    start = time.perf_counter()
    log_loss, log_acc, log_attr = 0.0, 0.0, 0.0
    for step in range(1, args.steps + 1):
        net.train()
        picks = torch.cat(
            [
                celeba_train[celeba_pool[torch.randint(len(celeba_pool), (b,), generator=generator)]],
                anime_train[torch.randint(len(anime_train), (b,), generator=generator)],
            ]
        )
        attr_idx = train_attr[torch.randint(len(train_attr), (args.attribute_batch,), generator=generator)]
        view_a, view_b = (augment(picks, generator, args.min_crop, args.jitter) for _ in range(2))
        attr_view = augment(celeba_train[attr_idx], generator, args.min_crop, args.jitter)
        feats = net(torch.cat([view_a, view_b, attr_view]))
        contrastive, acc = nt_xent(net.projection(feats[: 4 * b]), args.temperature)
        attr_logits = net.attributes(feats[4 * b :])
        attr_loss = F.binary_cross_entropy_with_logits(attr_logits, celeba_labels[attr_idx].float())
        loss = contrastive + args.attribute_weight * attr_loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        log_loss, log_acc, log_attr = log_loss + contrastive.item(), log_acc + acc, log_attr + attr_loss.item()
        if step % 50 == 0 or step == args.steps:
            k = 50 if step % 50 == 0 else step % 50
            print(
                f"step {step}/{args.steps}: contrastive {log_loss / k:.3f} (retrieval {log_acc / k:.3f}), "
                f"attributes {log_attr / k:.3f}, {time.perf_counter() - start:.0f} s",
                flush=True,
            )
            log_loss, log_acc, log_attr = 0.0, 0.0, 0.0
    seconds = time.perf_counter() - start

    # ----- held-out figures
    net.eval()
    with torch.no_grad():
        logits = net.attributes(features(net, celeba_train[held_attr]))
    truth = celeba_labels[held_attr]
    predicted = (logits > 0).long()
    majority = (celeba_labels[train_attr].float().mean(0) > 0.5).long()
    per_attribute = (predicted == truth).float().mean(0)
    per_attribute_baseline = (majority[None] == truth).float().mean(0)
    attr_acc, baseline = per_attribute.mean().item(), per_attribute_baseline.mean().item()
    reported = {
        name: {
            "accuracy": round(per_attribute[CELEBA_ATTRIBUTES.index(name)].item(), 3),
            "majority_baseline": round(per_attribute_baseline[CELEBA_ATTRIBUTES.index(name)].item(), 3),
        }
        for name in REPORTED_ATTRIBUTES
    }
    fids = {}
    for kind, data in (("celeba", celeba), ("anime", anime)):
        val, test = features(net, data["val"][0]), features(net, data["test"][0])
        fids[kind] = round(fid_kid(val, test, kid_subsets=10, kid_subset_size=min(len(val), len(test)))["fid"], 3)
    held_out = {
        "retrieval_accuracy": {
            "celeba_val": round(retrieval_accuracy(net, celeba["val"][0], args.seed, args), 4),
            "anime_val": round(retrieval_accuracy(net, anime["val"][0], args.seed, args), 4),
        },
        "attribute_accuracy": round(attr_acc, 4),
        "attribute_majority_baseline": round(baseline, 4),
        "attributes": reported,
        "fid_val_vs_test": fids,
    }
    print(json.dumps(held_out, indent=2))
    if attr_acc <= baseline:
        print(f"error: attribute accuracy {attr_acc:.4f} <= baseline {baseline:.4f}: not written", file=sys.stderr)
        return 1

    args.out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_file = tempfile.mkstemp(dir=args.out.parent, suffix=".pt")
    os.close(fd)
    torch.save(net.state_dict(), tmp_file)
    os.replace(tmp_file, args.out)
    record = {
        "script": "experiments/train_face_features.py",
        "network": "genzoo.metrics.features.FaceFeatureNet",
        "parameters": sum(p.numel() for p in net.parameters()),
        "input": f"{FACE_SIZE}x{FACE_SIZE} RGB, shrunk from {SOURCE_SIZE}x{SOURCE_SIZE} with antialiasing",
        "data": {
            "celeba": f"{args.celeba}: official partition; trained on {len(celeba_pool)} train images "
            f"({len(train_attr)} with attributes), {len(held_attr)} labelled train images held out; "
            f"val {len(celeba['val'][0])} / test {len(celeba['test'][0])} untouched",
            "anime": f"{args.anime}: genzoo's hash split; trained on {len(anime_train)} train images; "
            f"val {len(anime['val'][0])} / test {len(anime['test'][0])} untouched",
        },
        "objective": {
            "contrastive": f"NT-Xent, temperature {args.temperature}, {args.batch_per_domain} CelebA + "
            f"{args.batch_per_domain} anime images per step, two views each",
            "augmentation": f"crop {args.min_crop:.0%}-100% of the side, horizontal flip, brightness/saturation/"
            f"contrast x[{1 - args.jitter:.1f}, {1 + args.jitter:.1f}]; no blur, no noise",
            "attributes": f"binary cross-entropy on CelebA's 40 attributes, weight {args.attribute_weight}, "
            f"{args.attribute_batch} labelled images per step",
        },
        "recipe": {
            "steps": args.steps,
            "optimizer": f"AdamW(weight_decay {args.weight_decay})",
            "schedule": f"OneCycleLR(peak lr {args.lr}, pct_start 0.2)",
            "seed": args.seed,
        },
        "held_out": held_out,
        "sha256": file_sha256(args.out),
        "seconds": round(seconds, 1),
        "threads": torch.get_num_threads(),
        "date": date.today().isoformat(),
        "versions": {"python": platform.python_version(), "torch": torch.__version__},
    }
    args.out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB) and {args.out.with_suffix('.json').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
