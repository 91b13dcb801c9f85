"""Table and plot of FID-vs-time curves written by ``quality_curve.py`` (JSON lines).

python experiments/report_curves.py results/curves.jsonl --png docs/images/fid_curves.png
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("curves", type=Path, nargs="+")
    parser.add_argument("--png", type=Path, help="also plot FID against CPU seconds")
    parser.add_argument("--target", type=float, default=None, help="draw a dotted line at this FID")
    args = parser.parse_args()
    rows = [json.loads(line) for path in args.curves for line in path.read_text().splitlines() if line.strip()]
    by_model: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_model[row["model"]].append(row)
    print("| model | epoch | CPU s | FID | precision | recall | class entropy |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for model, points in by_model.items():
        for p in sorted(points, key=lambda r: r["epoch"]):
            print(f"| {model} | {p['epoch']} | {p['cpu_seconds']:.0f} | {p['fid']:.1f} | {p['precision']:.3f} "
                  f"| {p['recall']:.3f} | {p['entropy']:.3f} |")  # fmt: skip
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 4.2))
        colours: dict[str, str] = {}  # one colour per model; its variants ("vae (old [512])") dashed in it
        for model, points in by_model.items():
            points = sorted(points, key=lambda r: r["epoch"])
            base = model.split(" (")[0]
            colours.setdefault(base, f"C{len(colours) % 10}")
            style = "--" if "(" in model else "-"
            ax.plot([p["cpu_seconds"] for p in points], [p["fid"] for p in points], style, marker="o", label=model,
                    color=colours[base])  # fmt: skip
        if args.target:
            ax.axhline(args.target, color="grey", linestyle=":", linewidth=1)
            ax.annotate(f"FID {args.target:g}", (ax.get_xlim()[0], args.target), fontsize=8, color="grey",
                        xytext=(4, 3), textcoords="offset points")  # fmt: skip
        ax.set_xlabel("CPU seconds of training (one thread)")
        ax.set_ylabel("FID (MNIST extractor, 10,000 samples)")
        ax.set_yscale("log")
        ax.set_title("Default runs on MNIST: FID against training cost")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.tight_layout()
        args.png.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.png, dpi=110)


if __name__ == "__main__":
    main()
