"""Speed options measured, not assumed: each against the plain run of the same model, alternating rounds.

Options (all flags of ``genzoo fit``): ``channels_last`` (``--trainer.callbacks+=genzoo.callbacks.ChannelsLast``),
``compile`` (``--trainer.callbacks+=genzoo.callbacks.CompileNetworks``), ``bf16`` (``--trainer.precision
bf16-mixed``) and ``batch256`` (``--data.batch_size 256``, the learning rate unchanged). For each run: the time
of the first ``--warmup`` batches (where compilation happens) and the steady ms per image after them, both
inside one ``trainer.fit`` of the objects ``genzoo fit`` builds (validation off).

    python experiments/bench_options.py [--models vae,conv_vae] [--options channels_last,compile,bf16]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch

from genzoo.cli.lightning import configure

MODELS = {
    "vae": ["--model", "vae", "--model.hidden_dims", "[512]", "--model.latent_dim", "16"],
    "conv_vae": ["--model", "vae", "--model.backbone", "conv"],
    "aegan": ["--model", "aegan"],
    "conv_aegan": ["--model", "aegan", "--model.backbone", "conv"],
}
OPTIONS = {
    "plain": [],
    "channels_last": ["--trainer.callbacks+=genzoo.callbacks.ChannelsLast"],
    "compile": ["--trainer.callbacks+=genzoo.callbacks.CompileNetworks"],
    "bf16": ["--trainer.precision", "bf16-mixed"],
    "batch256": ["--data.batch_size", "256"],
}


class StepClock(pl.Callback):
    def __init__(self, warmup: int) -> None:
        self.warmup, self.images = warmup, 0
        self.start = self.warm = self.end = 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == 0:
            self.start = time.perf_counter()
        if batch_idx == self.warmup:
            self.warm = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if batch_idx >= self.warmup:
            self.images += len(batch[0])
        self.end = time.perf_counter()


def run(model: str, option: str, batches: int, warmup: int, root: Path) -> dict:
    args = [*MODELS[model], *OPTIONS[option], "--trainer.max_epochs", "1", "--trainer.limit_train_batches",
            str(batches), "--trainer.limit_val_batches", "0", "--trainer.num_sanity_val_steps", "0",
            "--trainer.enable_progress_bar", "false", "--trainer.enable_checkpointing", "false",
            "--trainer.enable_model_summary", "false", "--trainer.default_root_dir", str(root)]  # fmt: skip
    cli = configure(args)
    clock = StepClock(warmup)
    cli.trainer.callbacks.append(clock)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    return {"warmup_seconds": clock.warm - clock.start, "images_per_s": clock.images / (clock.end - clock.warm)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="vae,conv_vae")
    parser.add_argument("--options", default="channels_last,compile,bf16,batch256")
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("results/bench_options.json"))
    args = parser.parse_args()
    options = ["plain", *args.options.split(",")]
    load_before = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(args.rounds):
            for model in args.models.split(","):
                for option in options:
                    r = {"round": rnd, "model": model, "option": option}
                    r.update(run(model, option, args.batches, args.warmup, Path(tmp) / f"{model}-{option}-{rnd}"))
                    results.append(r)
                    print(f"round {rnd} {model} {option}: {r['images_per_s']:,.0f} img/s, first {args.warmup} "
                          f"batches {r['warmup_seconds']:.1f} s", flush=True)  # fmt: skip
    print(f"\nload {' '.join(f'{v:.2f}' for v in load_before)} -> {' '.join(f'{v:.2f}' for v in os.getloadavg())}, "
          f"{torch.get_num_threads()} thread(s)")  # fmt: skip
    print("| model | option | img/s | vs plain (median of rounds) | first batches s |")
    print("| --- | --- | ---: | ---: | ---: |")
    for model in args.models.split(","):
        for option in options:
            rs = [r for r in results if (r["model"], r["option"]) == (model, option)]
            ratios = [r["images_per_s"] / p["images_per_s"] for r in rs for p in results
                      if (p["model"], p["option"], p["round"]) == (model, "plain", r["round"])]  # fmt: skip
            print(
                f"| {model} | {option} | {statistics.median(r['images_per_s'] for r in rs):,.0f} | "
                f"{statistics.median(ratios):.2f}x | {statistics.median(r['warmup_seconds'] for r in rs):.1f} |"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"load_before": load_before, "results": results}, indent=2))


if __name__ == "__main__":
    main()
