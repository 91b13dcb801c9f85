"""Measured attribute edits of the face CVAE on the CelebA sample (docs/editing.md, "Measured edits").

The sample has attributes for only 645 faces, all in the train split. A fixed, seeded set of them
(``--holdout``) is kept out of everything that learns: the CVAE and the attribute classifier both train
on the other labelled faces, so the edits are measured on real faces neither model has seen.

    # 1. a data root without the held-out faces' attributes (images and partition are links to the originals)
    OMP_NUM_THREADS=1 .venv/bin/python experiments/celeba_edits.py holdout \\
        --celeba ../shared/data/celeba_sample --out /tmp/edits-root
    # 2. the face CVAE on it (labelled_only: the held-out faces, now unlabelled, are not served to it)
    genzoo fit --config experiments/recipes/celeba/cvae_cpu.yaml --data.root /tmp/edits-root \\
        --data.cache_dir /tmp/edits-cache
    # 3. the classifier and the edits
    OMP_NUM_THREADS=1 .venv/bin/python experiments/celeba_edits.py measure \\
        --celeba ../shared/data/celeba_sample --cache-dir /tmp/edits-cache --ckpt RUN/checkpoints/last.ckpt \\
        --out experiments/celeba_edits.json --strip docs/images/celeba_edits.png

``measure``:

(a) trains an attribute classifier for Smiling, Eyeglasses and Male on the labelled faces outside the
hold-out, and reports its accuracy on the held-out faces per attribute, against the majority-class
guess, with a binomial standard error. It is a small CNN trained from pixels (``AttributeNet``), not a
probe on ``face_features``: the edits' identity is measured in ``face_features`` space, and a judge that
reads the same features as the ruler would tie "reads as edited" to "moved in the ruler's space"; also
``face_features`` was trained on the attributes of most labelled faces, so only its own 100-face
hold-out would be fair to a probe on it.

(b) encodes each held-out face with its own 40 attributes, decodes it unchanged (the reconstruction, the
control) and with one attribute flipped (Smiling, Eyeglasses, Male in turn; ``genzoo edit``'s condition
method at full strength), and reports per attribute and direction (add: 0 -> 1, remove: 1 -> 0):

- the share of edited faces the classifier reads as having the target value, against the share of the
  reconstructions it reads so (the control: what the classifier says without the edit);
- identity kept: the distance in ``face_features`` space from the original face to the edited face, to
  the reconstruction, and to another held-out face (a fixed derangement: the scale of "a different
  person").

It writes a JSON of every figure and a PNG strip: for a few held-out faces, the original, the
reconstruction, then the face with each attribute flipped.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genzoo.datamodules.celeba import (
    ATTRIBUTES,
    CELEBA_ATTRIBUTES,
    CelebADataModule,
    find_celeba_folder,
    read_annotation,
)
from genzoo.metrics.features import FaceFeatures, conv_bn_relu
from genzoo.models.loading import load_model
from genzoo.viz import to_uint8, to_unit_float, write_images

EDITED = ("Smiling", "Eyeglasses", "Male")
SIZE = 32  # the CPU recipe's side; the face network sees 32x32 too, so nothing is resized for it


# ----- the hold-out ------------------------------------------------------------------------------
def heldout_names(celeba_root: str | Path, count: int, seed: int) -> list[str]:
    """The file names of ``count`` labelled faces, drawn with ``seed`` from the sorted labelled names."""
    base = find_celeba_folder(Path(celeba_root))
    if base is None:
        raise SystemExit(f"error: no img_align_celeba/ in {celeba_root} or its celeba/ folder")
    _, names, _ = read_annotation(base / f"{ATTRIBUTES}.txt", len(CELEBA_ATTRIBUTES), header=True)
    names = sorted(names)
    order = torch.randperm(len(names), generator=torch.Generator().manual_seed(seed))
    return sorted(names[i] for i in order[:count].tolist())


def write_holdout_root(celeba_root: str | Path, out: str | Path, held: list[str]) -> Path:
    """A CelebA root at ``out`` whose attribute file lacks the ``held`` faces; everything else links back.

    The held-out images stay in the folder (as unlabelled training images), so a labelled-only model
    such as the CVAE never sees them, and the cache and partition are those of the original.
    """
    base = find_celeba_folder(Path(celeba_root))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for entry in base.iterdir():
        if entry.name != f"{ATTRIBUTES}.txt" and not (out / entry.name).exists():
            (out / entry.name).symlink_to(entry.resolve())
    columns, names, values = read_annotation(base / f"{ATTRIBUTES}.txt", len(CELEBA_ATTRIBUTES), header=True)
    skip = set(held)
    rows = [f"{n} " + " ".join(f"{v:2d}" for v in row) for n, row in zip(names, values) if n not in skip]
    lines = [str(len(rows)), " ".join(columns), *rows]
    (out / f"{ATTRIBUTES}.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode())  # the original's format
    (out / "heldout.txt").write_text("".join(f"{n}\n" for n in held))
    return out


# ----- the measurements (tested in tests/test_celeba_edits.py) -------------------------------------
def binomial_se(p: float, n: int) -> float:
    """Standard error of a share p measured on n independent faces."""
    return math.sqrt(p * (1 - p) / n) if n else float("nan")


def read_share(logits: torch.Tensor, target: torch.Tensor) -> float:
    """The share of faces whose logit (N,) the classifier reads as the target value (N,) of 0/1."""
    return ((logits > 0).long() == target.long()).float().mean().item()


def feature_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Euclidean distance between matching rows of two feature sets (N, D) -> (N,)."""
    return (a - b).norm(dim=1)


def derangement(n: int, generator: torch.Generator) -> torch.Tensor:
    """A random permutation with no fixed point (n >= 2): each face's "other face" is never itself."""
    order = torch.randperm(n, generator=generator)
    other = torch.empty(n, dtype=torch.long)
    other[order] = order.roll(-1)  # each face in the shuffled cycle points at the next one
    return other


def flipped(labels: torch.Tensor, column: int) -> torch.Tensor:
    """0/1 attribute vectors (N, K) with one column flipped."""
    out = labels.clone()
    out[:, column] = 1 - out[:, column]
    return out


def summary(values: torch.Tensor) -> dict[str, float]:
    """Mean, its standard error and the median of per-face values."""
    v = values.double()
    se = (v.std() / math.sqrt(len(v))).item() if len(v) > 1 else float("nan")
    return {"mean": round(v.mean().item(), 4), "se": round(se, 4), "median": round(v.median().item(), 4)}


# ----- (a) the attribute classifier ----------------------------------------------------------------
class AttributeNet(nn.Module):
    """A small CNN from 32x32 RGB faces to one logit per attribute (Smiling, Eyeglasses, Male)."""

    def __init__(self, outputs: int = len(EDITED), width: int = 32) -> None:
        super().__init__()
        self.features = nn.Sequential(
            conv_bn_relu(3, width),
            conv_bn_relu(width, width, stride=2),  # 16x16
            conv_bn_relu(width, 2 * width, stride=2),  # 8x8
            conv_bn_relu(2 * width, 4 * width, stride=2),  # 4x4
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(4 * width, outputs))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


def augment(images: torch.Tensor, generator: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Float faces (N, 3, H, W) -> a random horizontal flip and a shift of up to max_shift pixels (edges
    repeated): what a face classifier must ignore, which 485 faces cannot teach it alone."""
    n, _, h, w = images.shape
    flip = torch.rand(n, generator=generator) < 0.5
    images = torch.where(flip[:, None, None, None], images.flip(-1), images)
    padded = F.pad(images, (max_shift,) * 4, mode="replicate")
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator).tolist()
    return torch.stack([padded[i, :, y : y + h, x : x + w] for i, (y, x) in enumerate(zip(dy, dx))])


@torch.no_grad()
def classify(net: AttributeNet, images: torch.Tensor) -> torch.Tensor:
    """Logits (N, 3) of faces (uint8 or [0, 1] floats)."""
    net.eval()
    return torch.cat([net(to_unit_float(images[i : i + 256])) for i in range(0, len(images), 256)])


def train_classifier(
    images: torch.Tensor, labels: torch.Tensor, epochs: int, lr: float, seed: int
) -> tuple[AttributeNet, float]:
    """Fit AttributeNet on uint8 faces (N, 3, 32, 32) and 0/1 labels (N, 3); returns it and the seconds taken.

    Each attribute's positives are weighted by its negatives/positives ratio, so that a rare attribute
    (Eyeglasses) is not learned as "never": the classifier must read edits in both directions.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    net = AttributeNet()
    positives = labels.float().sum(0).clamp(min=1)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=(len(labels) - positives) / positives)
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=5e-4)
    batch = 64
    steps = epochs * math.ceil(len(images) / batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, steps, pct_start=0.2)
    start = time.perf_counter()
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(images), generator=generator)
        for i in range(0, len(images), batch):
            idx = order[i : i + batch]
            loss = loss_fn(net(augment(to_unit_float(images[idx]), generator)), labels[idx].float())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return net, time.perf_counter() - start


def classifier_report(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, dict[str, float]]:
    """Held-out accuracy per attribute against the majority-class guess, with binomial standard errors,
    and the accuracy on each class (the edits of each direction are read by one of them)."""
    report = {}
    for k, name in enumerate(EDITED):
        y, n = labels[:, k], len(labels)
        accuracy = read_share(logits[:, k], y)
        majority = max(y.float().mean().item(), 1 - y.float().mean().item())
        on, off = y == 1, y == 0
        report[name] = {
            "n": n,
            "positives": int(on.sum()),
            "accuracy": round(accuracy, 4),
            "accuracy_se": round(binomial_se(accuracy, n), 4),
            "majority_baseline": round(majority, 4),
            "true_positive_rate": round(read_share(logits[on, k], y[on]), 4) if on.any() else None,
            "true_negative_rate": round(read_share(logits[off, k], y[off]), 4) if off.any() else None,
        }
    return report


# ----- (b) the edits -----------------------------------------------------------------------------
@torch.no_grad()
def edit_faces(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each face encoded with its own 40 attributes, decoded unchanged ("reconstruction") and with each
    edited attribute flipped (one per name), all quantised to 8 bits as a saved PNG would be."""
    model.eval()
    x, c = to_unit_float(images), labels.float()
    z = model.encode(x, c)
    out = {"reconstruction": to_uint8(model.decode(z, c))}
    for name in EDITED:
        out[name] = to_uint8(model.decode(z, flipped(c, CELEBA_ATTRIBUTES.index(name))))
    return out


def measure_edits(
    logits: dict[str, torch.Tensor],
    features: dict[str, torch.Tensor],
    labels: torch.Tensor,
    other: torch.Tensor,
) -> dict[str, Any]:
    """The figures of the edits from the classifier's logits (N, 3) and the face features (N, D) of the
    "original", "reconstruction" and each edited set; labels (N, 3) are the faces' own values of EDITED;
    ``other`` (N,) picks a different face for each (the scale of identity distances)."""
    result: dict[str, Any] = {}
    d_recon = feature_distances(features["reconstruction"], features["original"])
    d_other = feature_distances(features["original"][other], features["original"])
    for k, name in enumerate(EDITED):
        target = 1 - labels[:, k]
        entry: dict[str, Any] = {}
        for direction, rows in (("add", labels[:, k] == 0), ("remove", labels[:, k] == 1), ("both", None)):
            sel = torch.ones(len(labels), dtype=torch.bool) if rows is None else rows
            n = int(sel.sum())
            if n == 0:
                entry[direction] = {"n": 0}
                continue
            read = {s: read_share(logits[s][sel, k], target[sel]) for s in ("original", "reconstruction", name)}
            others = [j for j in range(len(EDITED)) if j != k]
            kept = ((logits[name][sel][:, others] > 0) == (logits["reconstruction"][sel][:, others] > 0)).all(1)
            entry[direction] = {
                "n": n,
                "edited_read_as_target": round(read[name], 4),
                "edited_se": round(binomial_se(read[name], n), 4),
                "reconstruction_read_as_target": round(read["reconstruction"], 4),
                "original_read_as_target": round(read["original"], 4),
                "other_attributes_read_unchanged": round(kept.float().mean().item(), 4),
            }
        d_edit = feature_distances(features[name], features["original"])
        entry["identity"] = {
            "edited_to_original": summary(d_edit),
            "edited_to_reconstruction": summary(feature_distances(features[name], features["reconstruction"])),
        }
        result[name] = entry
    result["identity_scale"] = {
        "reconstruction_to_original": summary(d_recon),
        "other_face_to_original": summary(d_other),
    }
    return result


def strip_image(images: dict[str, torch.Tensor], rows: list[int], scale: int = 3) -> torch.Tensor:
    """Per row one face: original, reconstruction, then each edit; enlarged (nearest) so 32 px can be seen."""
    columns = ["original", "reconstruction", *EDITED]
    tiles = torch.stack([to_unit_float(images[c][rows]) for c in columns], 1).flatten(0, 1)
    return F.interpolate(tiles, scale_factor=scale, mode="nearest")


def labelled_faces(celeba: str, cache_dir: str) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """The labelled faces of the train split at 32x32: uint8 images, the 40 attributes, file names."""
    dm = CelebADataModule(root=celeba, size=SIZE, cache_dir=cache_dir, labelled_only=False, decode_workers=0)
    dm.prepare_data()
    dm.setup("fit")
    data, names = dm.splits["train"], dm.names["train"]
    keep = (data.labels >= 0).all(1).nonzero().squeeze(1)
    return data.images[keep], data.labels[keep], [names[i] for i in keep.tolist()]


def measure(args: argparse.Namespace, held: list[str]) -> dict[str, Any]:
    torch.manual_seed(args.seed)
    images, attributes, names = labelled_faces(args.celeba, args.cache_dir)
    columns = [CELEBA_ATTRIBUTES.index(a) for a in EDITED]
    held_set = set(held)
    is_held = torch.tensor([n in held_set for n in names])
    train, test = (~is_held).nonzero().squeeze(1), is_held.nonzero().squeeze(1)
    print(f"{len(names)} labelled faces: the classifier trains on {len(train)}, {len(test)} held out", flush=True)

    net, seconds = train_classifier(images[train], attributes[train][:, columns], args.epochs, args.lr, args.seed)
    x, y40 = images[test], attributes[test]
    y = y40[:, columns]
    held_logits = classify(net, x)
    report = classifier_report(held_logits, y)
    for name, r in report.items():
        print(
            f"classifier {name}: held-out accuracy {r['accuracy']:.3f} +- {r['accuracy_se']:.3f} "
            f"(majority {r['majority_baseline']:.3f}; {r['positives']} of {r['n']} positive)",
            flush=True,
        )

    model = load_model(args.ckpt)
    faces = {"original": x, **edit_faces(model, x, y40)}
    logits = {k: classify(net, v) for k, v in faces.items()}
    extractor = FaceFeatures().eval()
    with torch.no_grad():
        features = {k: extractor(to_unit_float(v)) for k, v in faces.items()}
    other = derangement(len(x), torch.Generator().manual_seed(args.seed))
    edits = measure_edits(logits, features, y, other)
    for name in EDITED:
        b = edits[name]["both"]
        print(
            f"edit {name}: read as edited {b['edited_read_as_target']:.3f} (reconstruction "
            f"{b['reconstruction_read_as_target']:.3f}); feature distance to the original "
            f"{edits[name]['identity']['edited_to_original']['mean']:.2f}",
            flush=True,
        )
    scale = edits["identity_scale"]
    print(
        f"distance reconstruction-original {scale['reconstruction_to_original']['mean']:.2f}, "
        f"other face {scale['other_face_to_original']['mean']:.2f}",
        flush=True,
    )
    if args.strip:
        write_images(strip_image(faces, list(range(args.strip_rows))), Path(args.strip), nrow=2 + len(EDITED))
    return {
        "script": "experiments/celeba_edits.py",
        "data": {
            "celeba": str(args.celeba),
            "labelled_faces": len(names),
            "held_out": len(test),
            "held_out_seed": args.seed,
            "size": SIZE,
        },
        "classifier": {
            "network": "AttributeNet (experiments/celeba_edits.py)",
            "parameters": sum(p.numel() for p in net.parameters()),
            "trained_on": len(train),
            "recipe": {
                "epochs": args.epochs,
                "peak_lr": args.lr,
                "batch_size": 64,
                "loss": "BCE, positives weighted by negatives/positives",
                "augmentation": "flip, shift up to 2 px",
            },
            "seconds": round(seconds, 1),
            "held_out": report,
        },
        "cvae": {"checkpoint": str(args.ckpt), "sees_held_out_faces": False},
        "identity_features": "face_features (genzoo/metrics/features.py), Euclidean distance",
        "edits": edits,
        "strip": str(args.strip) if args.strip else None,
        "threads": torch.get_num_threads(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("holdout", "measure"):
        p = sub.add_parser(name)
        p.add_argument("--celeba", required=True, help="the CelebA root (as --data.root of genzoo's celeba data)")
        p.add_argument("--holdout", type=int, default=160, help="labelled faces kept out of all training")
        p.add_argument("--seed", type=int, default=0)
    sub.choices["holdout"].add_argument("--out", required=True, help="the data root to write (outside the data)")
    m = sub.choices["measure"]
    m.add_argument("--ckpt", required=True, help="the face CVAE trained on the holdout root")
    m.add_argument("--cache-dir", required=True, help="decoded-image cache (outside the data folder)")
    m.add_argument("--epochs", type=int, default=60, help="classifier epochs")
    m.add_argument("--lr", type=float, default=3e-3, help="classifier peak learning rate (one-cycle)")
    m.add_argument("--out", type=Path, default=None, help="JSON of every figure")
    m.add_argument("--strip", default=None, help="PNG strip: original, reconstruction, each edit")
    m.add_argument("--strip-rows", type=int, default=8)
    args = parser.parse_args()
    held = heldout_names(args.celeba, args.holdout, args.seed)
    if args.command == "holdout":
        root = write_holdout_root(args.celeba, args.out, held)
        print(f"wrote {root}: {len(held)} labelled faces held out (their names in {root / 'heldout.txt'})")
        return 0
    record = measure(args, held)
    if args.out:
        args.out.write_text(json.dumps(record, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
