"""The levers not yet tried on the AAE and AEGAN defaults, each measured as an FID curve against CPU seconds.

Every setting is the model's default run (``genzoo fit --model X``, seed 0, its own number of epochs) with
one lever changed, evaluated after every ``--every``-th epoch by ``quality_curve.py`` (10,000 samples, the
MNIST extractor, the test split). One JSON line per evaluated epoch goes to ``--out``, labelled
``MODEL/SETTING``; a setting already there is skipped, so an interrupted sweep goes on where it stopped.

    OMP_NUM_THREADS=1 python experiments/levers_mnist.py aae --out experiments/levers_mnist.jsonl
    OMP_NUM_THREADS=1 python experiments/levers_mnist.py aegan --out experiments/levers_mnist.jsonl --only sn
    python experiments/levers_mnist.py aae aegan --plot docs/images/levers_mnist.png   # the curves only

Run the two models side by side, one thread each, on an otherwise idle machine: their CPU seconds are
then comparable within the sweep (not with figures measured on another day or under other load).

The levers (docs/models/aae.md and aegan.md say what won):
- ``decay``: every learning rate decays linearly to 0 over the run (``--model.lr_decay linear``);
- ``batch256``: twice the batch and twice every learning rate (the linear scaling rule), so the same
  epochs take half the steps;
- ``sn``: spectral normalisation on every discriminator layer (Miyato et al. 2018);
- ``ttur``: the two-time-scale update rule (Heusel et al. 2017): the discriminators learn faster than
  the networks they judge (lr_disc 4e-4, against the former defaults' 1e-4);
- ``before`` (AAE): lr_disc 1e-4, its default until this sweep made it 4e-4 (``ttur``), for more seeds;
- ``conv``: the conv backbone at CPU widths ([16, 32] channels), for fewer epochs, since each costs more;
- ``batch256_ttur`` (AEGAN): the two winners together, batch 256 with every rate doubled from the new
  default (G 4e-4, D 8e-4).

The sweep won: lr_disc 4e-4 is the AAE's, the GAN's and the AEGAN's default since 2026-12-05. Every other
setting here keeps the former rate (``FORMER``), the one its rows were measured at, so a rerun measures
the same thing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from seeds_table import read_rows

HERE = Path(__file__).resolve().parent
FORMER = ["--model.lr_disc", "1e-4"]  # the discriminators' rate before this sweep (see above)
SETTINGS: dict[str, dict[str, list[str]]] = {
    "aae": {
        "default": FORMER,  # the default of its day: the label of the seed-0 rows
        "before": FORMER,  # the same, the label of the later seeds' rows
        "decay": [*FORMER, "--model.lr_decay", "linear"],
        "batch256": ["--data.batch_size", "256", "--model.lr", "1e-3", "--model.lr_disc", "2e-4",
                     "--model.lr_gen", "4e-4"],
        "sn": [*FORMER, "--model.spectral_norm", "true"],
        "ttur": ["--model.lr_disc", "4e-4"],
        "conv": [*FORMER, "--model.backbone", "conv", "--model.hidden_dims", "[16,32]", "--trainer.max_epochs", "8"],
    },
    "aegan": {
        "default": FORMER,
        "decay": [*FORMER, "--model.lr_decay", "linear"],
        "batch256": ["--data.batch_size", "256", "--model.lr", "4e-4", "--model.lr_disc", "2e-4"],
        "sn": [*FORMER, "--model.spectral_norm", "true"],
        "ttur": ["--model.lr_disc", "4e-4"],
        "conv": [*FORMER, "--model.backbone", "conv", "--model.hidden_dims", "[16,32]", "--trainer.max_epochs", "6"],
        "batch256_ttur": ["--data.batch_size", "256", "--model.lr", "4e-4", "--model.lr_disc", "8e-4"],
    },
}  # fmt: skip

LEGEND = {"default": "former default (lr_disc 1e-4)", "ttur": "ttur: lr_disc 4e-4 (the default now)"}


def label(model: str, setting: str, seed: int) -> str:
    return f"{model}/{setting}" + (f"/seed{seed}" if seed else "")


def run(model: str, setting: str, out: Path, every: int, root: Path, seed: int) -> None:
    name = label(model, setting, seed)
    argv = [sys.executable, str(HERE / "quality_curve.py"), model, "--label", name, "--every", str(every),
            "--out", str(out), "--root", str(root / name.replace("/", "-")), "--",
            *SETTINGS[model][setting], "--seed_everything", str(seed)]  # fmt: skip
    print(" ".join(argv[1:]), flush=True)
    subprocess.run(argv, check=True)


def plot(models: list[str], rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(models), figsize=(6 * len(models), 4.2), squeeze=False)
    for ax, model in zip(axes[0], models):
        for setting in SETTINGS[model]:
            mine = sorted((r for r in rows if r["model"] == f"{model}/{setting}"), key=lambda r: r["epoch"])
            if mine:
                style = {"color": "black", "linewidth": 2.5} if setting == "default" else {}
                name = LEGEND.get(setting, setting)
                ax.plot([r["cpu_seconds"] for r in mine], [r["fid"] for r in mine], "o-", label=name, **style)
        ax.set_title(f"{model.upper()} on MNIST: one lever changed at a time (seed 0)")
        ax.set_xlabel("CPU seconds of training (one thread)")
        ax.set_ylabel("FID (MNIST extractor, 10,000 samples)")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", choices=sorted(SETTINGS))
    parser.add_argument("--out", type=Path, default=HERE / "levers_mnist.jsonl")
    parser.add_argument("--only", nargs="*", default=None, help="these settings only (default: all)")
    parser.add_argument("--every", type=int, default=2, help="evaluate every N-th epoch (and the last)")
    parser.add_argument("--seed", type=int, default=0, help="the runs' seed (rows of seeds other than 0 say it)")
    parser.add_argument("--root", type=Path, default=Path("/tmp/genzoo-levers"), help="where the runs go")
    parser.add_argument("--plot", type=Path, default=None, help="only draw the curves from --out, to this file")
    args = parser.parse_args()
    if args.plot:
        plot(args.models, read_rows(args.out), args.plot)
        return
    for model in args.models:
        for setting in args.only or SETTINGS[model]:
            if any(r["model"] == label(model, setting, args.seed) for r in read_rows(args.out)):
                print(f"{label(model, setting, args.seed)}: already in {args.out}")
                continue
            run(model, setting, args.out, args.every, args.root, args.seed)


if __name__ == "__main__":
    main()
