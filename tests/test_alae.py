"""ALAE and StyleALAE: shapes of the shared API, the three training phases, learning, the CLI.

Every model here is tiny; the training tests use real MNIST digits (the bundled test split) so that
"the discriminator learns" means telling real digits from generated ones.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from genzoo.datamodules.base import TensorImageDataset, default_data_root, keep_batch
from genzoo.datamodules.mnist import load_mnist_arrays
from genzoo.errors import GenzooError
from genzoo.models.alae import ALAE
from genzoo.models.style_alae import StyleALAE

REPO = Path(__file__).resolve().parents[1]

TINY = {
    "alae": lambda **kw: ALAE(latent_dim=8, w_dim=8, hidden_dims=[64], mapping_layers=2, **kw),
    "alae_conv": lambda **kw: ALAE(latent_dim=8, w_dim=8, backbone="conv", hidden_dims=[8, 16], **kw),
    "alae_equalized": lambda **kw: ALAE(latent_dim=8, w_dim=8, hidden_dims=[64], equalized_lr=True, **kw),
    # the CPU default: styles at 14x14 and 7x7, plain layers at full resolution
    "style_alae": lambda **kw: StyleALAE(latent_dim=8, w_dim=8, hidden_dims=[4, 8], mapping_layers=2, **kw),
    # the paper's layout: styles up to full resolution (28 -> levels 28, 14, 7)
    "style_alae_full": lambda **kw: StyleALAE(latent_dim=8, w_dim=8, hidden_dims=[4, 4, 8], outer_level="style", **kw),
}


@pytest.fixture(scope="module")
def digits() -> torch.Tensor:
    """The first 64 MNIST test digits as floats in [0, 1], (64, 1, 28, 28)."""
    images, _ = load_mnist_arrays(default_data_root() / "mnist", "test", download=False)
    return torch.from_numpy(images[:64].copy()).float() / 255.0


def repeated_batches(images: torch.Tensor, batches: int, batch_size: int = 32) -> DataLoader:
    """``batches`` batches drawn from ``images`` (labels unused), in a fixed order."""
    data = images.repeat(math.ceil(batches * batch_size / len(images)), 1, 1, 1)[: batches * batch_size]
    labels = torch.zeros(len(data), dtype=torch.long)
    return DataLoader(TensorImageDataset(data, labels), batch_size=batch_size, collate_fn=keep_batch)


def fit(model: pl.LightningModule, loader: DataLoader, callbacks: list[pl.Callback] | None = None) -> pl.Trainer:
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, max_epochs=1, logger=False, log_every_n_steps=1, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=callbacks or [], limit_val_batches=0,
    )  # fmt: skip
    trainer.fit(model, train_dataloaders=loader)
    return trainer


class History(pl.Callback):
    """After every batch: the logged losses, and D's accuracy on a fixed real batch and fixed codes."""

    def __init__(self, real: torch.Tensor) -> None:
        self.real = real
        self.losses: list[dict[str, float]] = []
        self.accuracy: list[float] = []

    @torch.no_grad()
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.losses.append({k.split("/")[1]: float(v) for k, v in trainer.callback_metrics.items()})
        fake = pl_module.sample(len(self.real), generator=torch.Generator().manual_seed(0))
        hits = torch.cat([pl_module.discriminate(self.real) > 0, pl_module.discriminate(fake) < 0])
        self.accuracy.append(hits.float().mean().item())


@pytest.mark.slow  # trains until the loss falls, for each model
@pytest.mark.parametrize("name", ["alae", "style_alae"])
def test_learns_on_a_tiny_batch(name: str, digits: torch.Tensor) -> None:
    torch.manual_seed(0)
    model = TINY[name]()
    history = History(digits[:32])
    fit(model, repeated_batches(digits, 40), [history])

    losses = history.losses
    assert len(losses) == 40
    assert all(math.isfinite(v) for step in losses for v in step.values()), "a loss became NaN or infinite"
    assert all(math.isfinite(p.detach().sum().item()) for p in model.parameters())
    # The latent autoencoder fits: E inverts G on generated codes.
    first, last = (sum(s["lae"] for s in part) / len(part) for part in (losses[:5], losses[-5:]))
    assert last < 0.7 * first, f"latent reconstruction did not fall: {first:.4f} -> {last:.4f}"
    # The discriminator learns early (within these 40 steps): its loss drops below chance (2 log 2), and
    # it tells fixed real digits from fixed-code fakes (its logits start with one sign for all: 0.5).
    assert min(s["d"] for s in losses) < 2 * math.log(2) - 0.1
    assert max(history.accuracy) >= 0.8, f"D accuracy stayed near chance: {history.accuracy}"


class GradientRecorder(pl.Callback):
    """Before every optimizer step: which networks have gradients among that optimizer's parameters."""

    def __init__(self) -> None:
        self.steps: list[tuple[int, set[str]]] = []
        self.encoder_grads: list[torch.Tensor] = []

    def on_train_start(self, trainer, pl_module) -> None:
        owner = {p: name.split(".")[0] for name, p in pl_module.named_parameters()}
        first_encoder_param = next(pl_module.encoder.parameters())

        for index, optimizer in enumerate(trainer.optimizers):

            def hook(opt, args, kwargs, index=index) -> None:
                params = [p for group in opt.param_groups for p in group["params"]]
                self.steps.append((index, {owner[p] for p in params if p.grad is not None}))
                grad = first_encoder_param.grad
                self.encoder_grads.append(None if grad is None else grad.clone())

            optimizer.register_step_pre_hook(hook)


@pytest.mark.slow  # trains every phase of each model
@pytest.mark.parametrize("name", ["alae", "style_alae"])
def test_each_phase_trains_only_its_networks(name: str, digits: torch.Tensor) -> None:
    recorder = GradientRecorder()
    fit(TINY[name](), repeated_batches(digits, 2), [recorder])
    expected = [
        (0, {"encoder", "discriminator"}),  # (I) E, D as the discriminator
        (1, {"mapping", "generator"}),  # (II) F, G as the generator
        (0, {"encoder"}),  # (III) latent autoencoder: E ...
        (1, {"generator"}),  # ... and G; neither D nor F
    ]
    assert recorder.steps == expected * 2
    # Phase II backpropagates through E to reach G, but must leave E's gradients from phase I untouched.
    assert torch.equal(recorder.encoder_grads[0], recorder.encoder_grads[1])


class MappingChanges(pl.Callback):
    """For every optimizer step: whether it changed the mapping network F's parameters."""

    def __init__(self) -> None:
        self.changed: list[bool] = []

    def on_train_start(self, trainer, pl_module) -> None:
        mapping = list(pl_module.mapping.parameters())
        before: list[torch.Tensor] = []

        def pre(opt, args, kwargs) -> None:
            before[:] = [p.detach().clone() for p in mapping]

        def post(opt, args, kwargs) -> None:
            self.changed.append(any(not torch.equal(b, p) for b, p in zip(before, mapping, strict=True)))

        for optimizer in trainer.optimizers:
            optimizer.register_step_pre_hook(pre)
            optimizer.register_step_post_hook(post)


@pytest.mark.parametrize("trains_mapping", [False, True])
def test_lae_trains_mapping_decides_whether_phase_three_updates_f(trains_mapping: bool, digits: torch.Tensor) -> None:
    torch.manual_seed(0)
    recorder, changes = GradientRecorder(), MappingChanges()
    fit(TINY["alae"](lae_trains_mapping=trains_mapping), repeated_batches(digits, 1), [recorder, changes])
    # Steps: (I) E, D; (II) F, G; (III) E, then G -- and F only in the official variant.
    assert recorder.steps[3] == (1, {"generator", "mapping"} if trains_mapping else {"generator"})
    assert changes.changed == [False, True, False, trains_mapping]


@pytest.mark.parametrize(
    ("name", "image_shape"),
    [("alae", (1, 28, 28)), ("alae_conv", (1, 28, 28)), ("alae_equalized", (1, 28, 28)),
     ("style_alae", (1, 28, 28)), ("style_alae_full", (1, 28, 28)), ("style_alae", (1, 32, 32)),
     ("style_alae_full", (1, 32, 32)), ("style_alae", (3, 64, 64)), ("style_alae_full", (3, 64, 64))],
)  # fmt: skip
def test_shared_api_shapes(name: str, image_shape: tuple[int, int, int]) -> None:
    model = TINY[name](image_shape=image_shape).eval()
    x = torch.rand(6, *image_shape)
    w = model.encode(x)
    assert w.shape == (6, 8)
    assert model.prior_sample(5).shape == (5, 8)  # codes w = F(z), the space decode reads
    for images in (model.decode(w), model.reconstruct(x)):
        assert images.shape == x.shape
    samples = model.sample(5, generator=torch.Generator().manual_seed(1))
    again = model.sample(5, generator=torch.Generator().manual_seed(1))
    assert samples.shape == (5, *image_shape) and torch.equal(samples, again)  # seeded noise included
    assert 0 <= samples.min() and samples.max() <= 1
    assert model.interpolate(x[:2], x[2:4], steps=3).shape == (6, *image_shape)
    assert model.discriminate(x).shape == (6,)


def test_style_alae_trains_on_64x64_rgb() -> None:
    torch.manual_seed(0)
    model = StyleALAE(
        image_shape=(3, 64, 64), latent_dim=8, w_dim=8, hidden_dims=[4, 4, 8, 8, 8], outer_level="style",
        r1_every=1,
    )  # fmt: skip
    images = torch.rand(8, 3, 64, 64)
    trainer = fit(model, repeated_batches(images, 2, batch_size=4))
    values = {k: float(v) for k, v in trainer.callback_metrics.items()}
    assert {"train/d", "train/g", "train/lae", "train/r1"} <= values.keys()
    assert all(math.isfinite(v) for v in values.values())


@pytest.mark.parametrize("outer_level", ["plain", "style"])
def test_style_mixing_takes_each_level_from_its_code(outer_level: str) -> None:
    torch.manual_seed(0)
    widths = [4, 8] if outer_level == "plain" else [4, 4, 8]
    model = StyleALAE(latent_dim=8, w_dim=8, hidden_dims=widths, outer_level=outer_level).eval()
    levels = len(model.style_sides)
    assert model.style_sides == [7 * 2**i for i in range(levels)]
    with torch.no_grad():  # untrained AdaIN styles are near the identity: make them matter
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    a, b = torch.randn(3, 8), torch.randn(3, 8)
    alone_a, alone_b = model.generate(a, noise=False), model.generate(b, noise=False)
    torch.testing.assert_close(model.mix_styles(a, b, crossover=levels), alone_a)
    torch.testing.assert_close(model.mix_styles(a, b, crossover=0), alone_b)
    mixed = model.mix_styles(a, b, crossover=1)
    assert (mixed - alone_a).abs().max() > 1e-3 and (mixed - alone_b).abs().max() > 1e-3
    same_per_level = a[:, None].expand(-1, levels, -1)
    torch.testing.assert_close(model.generate(same_per_level, noise=False), alone_a)
    with pytest.raises(GenzooError, match="crossover"):
        model.mix_styles(a, b, crossover=levels + 1)
    with pytest.raises(GenzooError, match="w_dim"):
        model.generate(torch.randn(3, levels + 1, 8), noise=False)


def test_bad_arguments_raise_one_line_errors() -> None:
    with pytest.raises(GenzooError, match="halved"):
        StyleALAE(hidden_dims=[4, 8, 8])  # plain outer level: styles at 14x14, which halves once (to 7x7)
    with pytest.raises(GenzooError, match="halved"):
        StyleALAE(hidden_dims=[4, 8, 8, 8], outer_level="style")  # 28x28 halves twice, not three times
    with pytest.raises(GenzooError, match="odd"):
        StyleALAE(image_shape=(1, 27, 27))
    with pytest.raises(GenzooError, match="r1_gamma"):
        ALAE(r1_gamma=-1.0)
    with pytest.raises(GenzooError, match="mapping"):
        ALAE(mapping_layers=0)


@pytest.mark.slow  # starts genzoo processes
@pytest.mark.parametrize("name", ["alae", "style_alae"])
def test_cli_recipe_trains_and_writes_images(name: str, tmp_path: Path) -> None:
    """The MNIST recipe, as a user runs it, for two batches; then sample from its checkpoint."""
    run = [sys.executable, "-m", "genzoo.cli"]
    fit_args = [
        "fit", "--config", str(REPO / "experiments" / "recipes" / "mnist" / f"{name}.yaml"),
        "--trainer.default_root_dir", str(tmp_path), "--trainer.max_epochs", "1",
        "--trainer.limit_train_batches", "2", "--trainer.limit_val_batches", "1", "--trainer.limit_test_batches", "1",
    ]  # fmt: skip
    result = subprocess.run(run + fit_args, capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    run_dir = tmp_path / f"{name}-mnist" / "version_0"
    for figure in ("samples", "reconstructions", "interpolations"):
        assert (run_dir / "images" / f"epoch000_{figure}.png").is_file()
    checkpoint = next((run_dir / "checkpoints").glob("*.ckpt"))
    out = tmp_path / "samples.png"
    result = subprocess.run(run + ["sample", "--ckpt", str(checkpoint), "--num", "4", "--out", str(out)], cwd=REPO)
    assert result.returncode == 0 and out.is_file()
