"""GAN and AEGAN around StyleGAN's generator (``generator="style"``, docs/models/aegan.md): G is the style
generator StyleALAE uses, the other networks stay the backbone's; it trains, and it goes through a checkpoint."""

from __future__ import annotations

import math
import warnings

import pytest
import pytorch_lightning as pl
import torch
from helpers import build_model

from genzoo.errors import GenzooError
from genzoo.models.ema import live
from genzoo.models.loading import load_model
from genzoo.nn.style import MappedStyleGenerator, MappingNetwork, StyleGenerator

pytestmark = pytest.mark.usefixtures("one_thread")
STYLE = {"backbone": "conv", "generator": "style"}


def shapes(net: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(t.shape) for name, t in net.state_dict().items()}


@pytest.mark.parametrize("image_shape", [(1, 28, 28), (3, 32, 32)], ids=["1x28x28", "3x32x32"])
@pytest.mark.parametrize("name", ["gan", "aegan"])
def test_style_generator_replaces_g_only(name: str, image_shape: tuple[int, int, int]) -> None:
    torch.manual_seed(0)
    plain = build_model(name, width=None, image_shape=image_shape, backbone="conv")
    model = build_model(name, width=None, image_shape=image_shape, **STYLE).eval()
    g = live(model.generator)
    assert isinstance(g, MappedStyleGenerator)
    assert isinstance(g.mapping, MappingNetwork) and isinstance(g.synthesis, StyleGenerator)  # StyleALAE's classes
    # the style levels have the conv backbone's channels, at the conv decoder's resolutions
    widths = model.backbone.widths(image_shape)
    assert [level[0].conv.out_channels for level in g.synthesis.levels] == list(reversed(widths))
    assert g.synthesis.const.shape[-1] == image_shape[-1] // 2 ** len(widths)
    for net in ("discriminator", "encoder", "latent_discriminator"):
        if hasattr(plain, net):
            assert shapes(getattr(model, net)) == shapes(getattr(plain, net)), net

    samples = model.sample(4, generator=torch.Generator().manual_seed(0))
    again = model.sample(4, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (4, *image_shape) and torch.equal(samples, again)  # no noise: seeded is reproducible
    assert torch.isfinite(samples).all() and 0 <= samples.min() and samples.max() <= 1
    if model.has_encoder:
        x = torch.rand(4, *image_shape)
        assert model.reconstruct(x).shape == x.shape
        assert model.encode(x).shape == (4, model.latent_dim)


def test_style_generator_needs_the_conv_backbone() -> None:
    with pytest.raises(GenzooError, match="--model.backbone conv"):
        build_model("aegan", generator="style")  # the MLP backbone: its widths are not channels


class Losses(pl.Callback):
    def __init__(self) -> None:
        self.history: list[dict[str, float]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.history.append({k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("train/")})


@pytest.mark.slow  # 60 training steps
def test_style_aegan_trains_with_finite_falling_losses() -> None:
    pl.seed_everything(0, verbose=False)
    x = torch.rand(32, 3, 32, 32) * 0.2 + torch.linspace(0, 0.8, 32)[:, None, None, None]  # 32 flat-ish images
    model = build_model("aegan", width=16, image_shape=(3, 32, 32), lambda_image_recon=10.0, **STYLE)
    losses = Losses()
    trainer = pl.Trainer(
        max_epochs=1, logger=False, log_every_n_steps=1, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, callbacks=[losses], limit_val_batches=0, num_sanity_val_steps=0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(model, train_dataloaders=torch.utils.data.DataLoader([(x, torch.zeros(32))] * 60, batch_size=None))
    assert len(losses.history) == 60
    for step, values in enumerate(losses.history):
        assert values and all(math.isfinite(v) for v in values.values()), (step, values)
    for p in model.parameters():
        assert torch.isfinite(p).all()

    def mean(key: str, steps: list[dict[str, float]]) -> float:
        return sum(s[key] for s in steps) / len(steps)

    first, last = losses.history[:10], losses.history[-10:]
    for key in ("train/recon_image", "train/recon_latent", "train/ge"):
        assert mean(key, last) < mean(key, first), (key, mean(key, first), mean(key, last))


def test_style_aegan_checkpoint_round_trip(tiny_checkpoints) -> None:
    ckpt = tiny_checkpoints["aegan_style"]
    saved = torch.load(ckpt, map_location="cpu", weights_only=True)  # plain data only
    assert saved["hyper_parameters"]["generator"] == "style"
    model = load_model(ckpt).eval()
    assert isinstance(live(model.generator), MappedStyleGenerator)
    samples = model.sample(6, generator=torch.Generator().manual_seed(3))
    assert samples.shape == (6, 1, 28, 28) and torch.isfinite(samples).all()
    assert torch.equal(samples, model.sample(6, generator=torch.Generator().manual_seed(3)))
    # the weights it samples with are the trained ones: the loaded state is the saved one
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in saved["state_dict"].items() if k in state)
