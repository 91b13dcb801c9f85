"""Make the pictures of docs/latent.md with the latent commands, from three short runs (see that page).

    python experiments/latent_pictures.py RUNS_ROOT [--out docs/images/latent]

RUNS_ROOT holds vae-mnist/, aae-mnist/ (the 2-D AAE) and ae-anime/ run folders; the last checkpoint of
each run's newest version is used.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from genzoo.cli import main


def last_checkpoint(root: Path, run: str) -> str:
    versions = sorted((root / run).glob("version_*"), key=lambda p: int(p.name.split("_")[1]))
    if not versions:
        sys.exit(f"no run folder {root / run}/version_*")
    return str(sorted((versions[-1] / "checkpoints").glob("*.ckpt"))[-1])


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/images/latent"))
    args = parser.parse_args()
    vae, aae, anime = (last_checkpoint(args.root, run) for run in ("vae-mnist", "aae-mnist", "ae-anime"))
    pictures = {
        "mnist_vae_reconstruct": [vae, "reconstruct", "--num", "16"],
        "mnist_vae_interpolate": [vae, "interpolate", "--from", "0,1,2", "--to", "3,4,7", "--steps", "10"],
        "mnist_vae_slerp_samples": [vae, "interpolate", "--mode", "slerp", "--num", "4", "--steps", "10"],
        "mnist_vae_traverse_pca0": [vae, "traverse", "--direction", "pca:0", "--num", "4"],
        "mnist_vae_traverse_attr": [
            vae,
            "traverse",
            "--direction",
            "attr:1:7",
            "--from",
            "2,5,14",
            "--range",
            "0,1.5",
            "--steps",
            "7",
        ],  # fmt: skip
        "mnist_vae_explore_pca": [vae, "explore"],
        "mnist_aae2d_explore": [aae, "explore"],
        "anime_ae_reconstruct": [anime, "reconstruct", "--num", "8"],
        "anime_ae_interpolate": [anime, "interpolate", "--from", "0,1,2", "--to", "3,4,5", "--mode", "slerp"],
        "anime_ae_mirror": [anime, "interpolate", "--mirror", "--from", "6,7,8", "--steps", "8"],
        "anime_ae_traverse_pca1": [anime, "traverse", "--direction", "pca:1", "--num", "3"],
        "anime_ae_explore_pca": [anime, "explore"],
    }
    for name, (ckpt, command, *flags) in pictures.items():
        code = main([command, "--ckpt", ckpt, "--out", str(args.out / f"{name}.png"), *flags])
        if code:
            sys.exit(f"{name}: genzoo {command} failed")


if __name__ == "__main__":
    main_()
