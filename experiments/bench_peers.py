"""genzoo against pythae and a hand-written fused-Adam loop: the same networks on the same MNIST, side by side.

Three sides train each model, each in its own process (so "wall" is the whole command: imports, data,
training, evaluation, saving), one after the other within a round, rounds repeated so that a noisy machine
slows every side alike:

- **pythae** (0.1.2, in its own environment ``.venv-peers``, never a genzoo dependency; ``make bench-peers``
  builds it): its ``TrainingPipeline`` as its README shows, with its per-epoch evaluation on the validation
  split; its training loop (``trainer.train_step``) is timed by wrapping that method;
- **loop**: a hand-written PyTorch loop with ``Adam(fused=True)`` over exactly genzoo's networks (built by
  genzoo's backbone code), the data as one uint8 tensor, ``images[perm].float() / 255``: the reference for
  what the framework costs per step;
- **genzoo**: ``genzoo fit`` with its defaults (CSV logger, progress bar, checkpoint, per-epoch figures,
  validation, test after fit); its training speed is the EpochThroughput's (training batches only).

Models, each at pythae's default MLP configuration where one exists (784-512-latent 16, BCE, Adam 1e-3,
batch 128): ``vae``; ``aae`` (pythae's Adversarial_AE with its default latent discriminator 16-256-1 against
genzoo's AAE with the same encoder, decoder and discriminator widths; the two libraries' AAE steps differ,
see docs/performance.md); ``conv_vae`` (genzoo's conv backbone, [32, 64] 4x4 stride-2 convolutions, handed to
pythae as its custom encoder and decoder). Test error: mean squared error of the test images' reconstructions
(posterior mean), pixels in [0, 1], the number genzoo reports as ``test/recon_mse``.

    make bench-peers                     # builds .venv-peers, then runs this with its defaults
    python experiments/bench_peers.py --epochs 1 --rounds 3 [--models vae,aae,conv_vae] [--docs]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PEERS_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
MODELS = ("vae", "aae", "conv_vae")
SIDES = ("pythae", "loop", "genzoo")
BATCH, LATENT, LR = 128, 16, 1e-3
DOCS_BEGIN, DOCS_END = "<!-- bench_peers:begin -->", "<!-- bench_peers:end -->"


# ----- networks shared by the loop and pythae's conv model (genzoo's own builders) -----------------------
def genzoo_networks(model: str):
    sys.path.insert(0, str(ROOT))
    from genzoo.nn.backbones import build_backbone
    from genzoo.nn.blocks import mlp

    backbone = build_backbone("conv" if model == "conv_vae" else "mlp", [32, 64] if model == "conv_vae" else [512])
    shape = (1, 28, 28)
    out = 2 * LATENT if model != "aae" else LATENT
    nets = {"encoder": backbone.encoder(shape, out), "decoder": backbone.decoder(LATENT, shape)}
    if model == "aae":
        nets["discriminator"] = mlp(LATENT, [256], 1)
    return nets


def load_split(data: Path, split: str):
    import torch

    return torch.from_numpy(np.load(data / f"{split}.npy"))


def test_mse(encode, decode, test) -> float:
    import torch

    total = 0.0
    with torch.no_grad():
        for start in range(0, len(test), 500):
            x = test[start : start + 500].float().div_(255)
            total += float(((decode(encode(x)) - x) ** 2).sum())
    return total / test.numel()


# ----- the hand-written loop -------------------------------------------------------------------------
def run_loop(model: str, data: Path, epochs: int) -> dict:
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    images, test = load_split(data, "train"), load_split(data, "test")
    nets = genzoo_networks(model)
    enc, dec = nets["encoder"], nets["decoder"]
    n_batches, seconds = len(images) // BATCH, 0.0
    if model == "aae":  # genzoo's AAE step: reconstruction, discriminator, encoder-fools-discriminator
        disc = nets["discriminator"]
        betas = (0.5, 0.999)
        opt_ae = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=5e-4, betas=betas, fused=True)
        opt_d = torch.optim.Adam(disc.parameters(), lr=1e-4, betas=betas, fused=True)
        opt_e = torch.optim.Adam(enc.parameters(), lr=2e-4, betas=betas, fused=True)
        ones, zeros = torch.ones(BATCH), torch.zeros(BATCH)
    else:
        opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=LR, fused=True)
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(images))
        for i in range(n_batches):
            x = images[order[i * BATCH : (i + 1) * BATCH]].float().div_(255)
            if model == "aae":
                recon = F.binary_cross_entropy_with_logits(dec(enc(x)), x, reduction="none").flatten(1).sum(1).mean()
                opt_ae.zero_grad(set_to_none=True)
                recon.backward()
                opt_ae.step()
                z_fake = enc(x)
                logits = disc(torch.cat([torch.randn(BATCH, LATENT), z_fake.detach()])).squeeze(1)
                loss_d = F.binary_cross_entropy_with_logits(logits, torch.cat([ones, zeros]))
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()
                disc.requires_grad_(False)
                loss_g = F.binary_cross_entropy_with_logits(disc(z_fake).squeeze(1), ones)
                opt_e.zero_grad(set_to_none=True)
                loss_g.backward()
                opt_e.step()
                disc.requires_grad_(True)
            else:
                mu, logvar = enc(x).chunk(2, dim=1)
                z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
                recon = F.binary_cross_entropy_with_logits(dec(z), x, reduction="none").flatten(1).sum(1).mean()
                kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()
                opt.zero_grad(set_to_none=True)
                (recon + kl).backward()
                opt.step()
        seconds += time.perf_counter() - start
    enc.eval(), dec.eval()
    code = (lambda x: enc(x)) if model == "aae" else (lambda x: enc(x).chunk(2, dim=1)[0])
    return {
        "train_images_per_s": epochs * n_batches * BATCH / seconds,
        "train_seconds": seconds,
        "test_mse": test_mse(code, lambda z: torch.sigmoid(dec(z)), test),
    }


# ----- pythae -------------------------------------------------------------------------------------------
def run_pythae(model: str, data: Path, epochs: int, out_dir: Path) -> dict:
    import torch
    from pythae.models import VAE, Adversarial_AE, Adversarial_AE_Config, VAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder
    from pythae.pipelines import TrainingPipeline
    from pythae.trainers import AdversarialTrainer, AdversarialTrainerConfig, BaseTrainer, BaseTrainerConfig

    timed = {"seconds": 0.0, "images": 0}
    for cls in (BaseTrainer, AdversarialTrainer):  # time the training loop alone (not its evaluation)
        original = cls.train_step

        def train_step(self, epoch, _original=original):
            start = time.perf_counter()
            loss = _original(self, epoch)
            timed["seconds"] += time.perf_counter() - start
            timed["images"] += len(self.train_loader.dataset)
            return loss

        cls.train_step = train_step

    train, val = (load_split(data, s).float().div_(255) for s in ("train", "val"))
    test = load_split(data, "test")  # uint8, as test_mse expects
    common = {"output_dir": str(out_dir), "num_epochs": epochs, "per_device_train_batch_size": BATCH,
              "per_device_eval_batch_size": BATCH, "no_cuda": True}  # fmt: skip
    if model == "aae":
        config = Adversarial_AE_Config(input_dim=(1, 28, 28), latent_dim=LATENT, reconstruction_loss="bce")
        net = Adversarial_AE(config)
        training = AdversarialTrainerConfig(**common, autoencoder_learning_rate=LR, discriminator_learning_rate=LR)
    else:
        config = VAEConfig(input_dim=(1, 28, 28), latent_dim=LATENT, reconstruction_loss="bce")
        custom = {}
        if model == "conv_vae":  # genzoo's conv networks, in pythae's encoder/decoder interface
            nets = genzoo_networks(model)

            class Encoder(BaseEncoder):
                def __init__(self):
                    BaseEncoder.__init__(self)
                    self.net = nets["encoder"]

                def forward(self, x):
                    mu, logvar = self.net(x).chunk(2, dim=1)
                    return ModelOutput(embedding=mu, log_covariance=logvar)

            class Decoder(BaseDecoder):
                def __init__(self):
                    BaseDecoder.__init__(self)
                    self.net = nets["decoder"]

                def forward(self, z):
                    return ModelOutput(reconstruction=torch.sigmoid(self.net(z)))

            custom = {"encoder": Encoder(), "decoder": Decoder()}
        net = VAE(config, **custom)
        training = BaseTrainerConfig(**common, learning_rate=LR)
    TrainingPipeline(model=net, training_config=training)(train_data=train, eval_data=val)
    net.eval()
    return {
        "train_images_per_s": timed["images"] / timed["seconds"],
        "train_seconds": timed["seconds"],
        "test_mse": test_mse(lambda x: net.encoder(x).embedding, lambda z: net.decoder(z).reconstruction, test),
    }


# ----- genzoo -------------------------------------------------------------------------------------------
def genzoo_args(model: str, epochs: int, root: Path) -> list[str]:
    name = {"vae": "vae", "aae": "aae", "conv_vae": "vae"}[model]
    args = ["fit", "--model", name, "--model.latent_dim", str(LATENT), "--data.batch_size", str(BATCH)]
    if model == "conv_vae":
        args += ["--model.backbone", "conv", "--model.hidden_dims", "[32, 64]"]
    else:
        args += ["--model.hidden_dims", "[512]"]
    if model == "aae":
        args += ["--model.latent_disc_dims", "[256]"]
    else:
        args += ["--model.lr", str(LR)]  # pythae's and the loop's; the VAE's own default is higher
    return args + ["--trainer.max_epochs", str(epochs), "--trainer.default_root_dir", str(root)]


def read_genzoo(root: Path) -> dict:
    metrics = sorted(root.glob("*/version_*/metrics.csv"))[-1]
    rows = list(csv.DictReader(metrics.open()))
    seconds = sum(float(r["throughput/train_seconds"]) for r in rows if r.get("throughput/train_seconds"))
    speeds = [float(r["throughput/images_per_s"]) for r in rows if r.get("throughput/images_per_s")]
    images = sum(s * float(r["throughput/train_seconds"]) for s, r in zip(speeds, [r for r in rows if r.get(
        "throughput/images_per_s")]))  # fmt: skip
    mse = [float(r["test/recon_mse"]) for r in rows if r.get("test/recon_mse")]
    return {"train_images_per_s": images / seconds, "train_seconds": seconds, "test_mse": mse[-1]}


# ----- the driver ---------------------------------------------------------------------------------------
def run_side(side: str, model: str, data: Path, epochs: int, tmp: Path) -> dict:
    out = tmp / f"{side}-{model}-{time.monotonic_ns()}"
    out.mkdir()
    if side == "genzoo":
        cmd = [sys.executable, "-m", "genzoo.cli", *genzoo_args(model, epochs, out)]
    else:
        python = str(PEERS_PYTHON) if side == "pythae" else sys.executable
        cmd = [python, __file__, "--worker", side, "--models", model, "--data", str(data), "--epochs", str(epochs),
               "--out", str(out / "result.json")]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{side} {model} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    result = read_genzoo(out) if side == "genzoo" else json.loads((out / "result.json").read_text())
    return {**result, "wall_seconds": wall}


def write_data(folder: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from genzoo.datamodules.mnist import MNISTDataModule

    dm = MNISTDataModule()
    dm.setup()
    for split in ("train", "val", "test"):  # genzoo's own splits, so every side trains on the same images
        np.save(folder / f"{split}.npy", dm.splits[split].images.numpy())


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def summarize(results: list[dict], models: list[str]) -> list[dict]:
    rows = []
    for model in models:
        for side in SIDES:
            rs = [r for r in results if r["model"] == model and r["side"] == side]
            if rs:
                rows.append({"model": model, "side": side, **{k: statistics.median(r[k] for r in rs) for k in (
                    "train_images_per_s", "wall_seconds", "test_mse")}})  # fmt: skip
    for row in rows:
        ref = {r["side"]: r for r in rows if r["model"] == row["model"]}
        for other in ("pythae", "loop"):
            if other in ref:
                # per round ratios, then their median: each ratio is measured side by side
                ratios = []
                for rnd in {r["round"] for r in results}:
                    a = [r for r in results if (r["model"], r["side"], r["round"]) == (row["model"], row["side"], rnd)]
                    b = [r for r in results if (r["model"], r["side"], r["round"]) == (row["model"], other, rnd)]
                    if a and b:
                        ratios.append(a[0]["train_images_per_s"] / b[0]["train_images_per_s"])
                row[f"speed_vs_{other}"] = statistics.median(ratios)
    return rows


def markdown(summary: list[dict], meta: dict) -> str:
    lines = [
        f"Run {meta['date']}: {meta['epochs']} epoch(s) per training, {meta['rounds']} rounds alternating "
        f"pythae, loop, genzoo; {meta['threads']}; load average (1, 5, 15 min) {meta['load_before']} before "
        f"and {meta['load_after']} after{meta['note']}. Medians over rounds; speed ratios are medians of the "
        "per-round ratios.",
        "",
        "| model | side | train img/s | vs pythae | vs loop | wall s (whole command) | test MSE |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in summary:
        vs_p = f"{r['speed_vs_pythae']:.2f}x" if r["side"] != "pythae" and "speed_vs_pythae" in r else ""
        vs_l = f"{r['speed_vs_loop']:.2f}x" if r["side"] == "genzoo" and "speed_vs_loop" in r else ""
        lines.append(
            f"| {r['model']} | {r['side']} | {r['train_images_per_s']:,.0f} | {vs_p} | {vs_l} | "
            f"{r['wall_seconds']:.1f} | {r['test_mse']:.4f} |"
        )
    return "\n".join(lines)


def write_docs(text: str, path: Path = ROOT / "docs" / "performance.md") -> None:
    doc = path.read_text()
    if DOCS_BEGIN in doc:
        head, rest = doc.split(DOCS_BEGIN, 1)
        doc = head + DOCS_BEGIN + "\n" + text + "\n" + DOCS_END + rest.split(DOCS_END, 1)[1]
    else:
        doc += f"\n{DOCS_BEGIN}\n{text}\n{DOCS_END}\n"
    path.write_text(doc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--sides", default=",".join(SIDES))
    parser.add_argument("--out", type=Path, default=Path("results/bench_peers.json"))
    parser.add_argument("--docs", action="store_true", help="write the table into docs/performance.md")
    parser.add_argument("--note", default="", help="a remark for the table's caption (e.g. a shared machine)")
    parser.add_argument("--worker", choices=("pythae", "loop"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    models = args.models.split(",")

    if args.worker:  # one training in this process; the driver times the process
        if args.worker == "pythae":
            result = run_pythae(models[0], args.data, args.epochs, args.out.parent / "pythae")
        else:
            result = run_loop(models[0], args.data, args.epochs)
        args.out.write_text(json.dumps(result))
        return

    sides = args.sides.split(",")
    if "pythae" in sides and not PEERS_PYTHON.exists():
        raise SystemExit(f"{PEERS_PYTHON} is missing: `make bench-peers` builds it")
    import torch

    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "epochs": args.epochs, "rounds": args.rounds,
            "threads": f"{torch.get_num_threads()} torch thread(s) per process", "load_before": load_average(),
            "note": f"; {args.note}" if args.note else ""}  # fmt: skip
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        write_data(data)
        for rnd in range(args.rounds):
            for model in models:
                for side in sides:
                    r = {"round": rnd, "model": model, "side": side, "load": load_average()}
                    r.update(run_side(side, model, data, args.epochs, Path(tmp)))
                    results.append(r)
                    print(
                        f"round {rnd} {model:8s} {side:6s}: {r['train_images_per_s']:8,.0f} img/s, "
                        f"wall {r['wall_seconds']:6.1f} s, test MSE {r['test_mse']:.4f} (load {r['load']})",
                        flush=True,
                    )
    meta["load_after"] = load_average()
    summary = summarize(results, models)
    text = markdown(summary, meta)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "results": results, "summary": summary}, indent=2))
    if args.docs:
        write_docs(text)


if __name__ == "__main__":
    main()
