"""The training levers of the adversarial autoencoders (AAE, AEGAN, and the GAN that AEGAN is measured
against): spectral normalisation of the discriminators and a learning-rate decay over the run."""

from __future__ import annotations

import math
import warnings

import pytest
import pytorch_lightning as pl
import torch
from helpers import build_model
from torch import nn

from genzoo.errors import GenzooError
from genzoo.models.phases import decay_factor

LEVER_MODELS = ["aae", "aegan", "gan"]

pytestmark = pytest.mark.usefixtures("one_thread")


def discriminators(model: nn.Module) -> list[nn.Module]:
    names = ("discriminator", "latent_discriminator")
    return [getattr(model, n) for n in names if isinstance(getattr(model, n, None), nn.Module)]


def layers(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def test_decay_factor_runs_from_one_to_zero():
    for kind in ("linear", "cosine"):
        assert decay_factor(kind, 0.0) == 1.0 and decay_factor(kind, 1.0) == pytest.approx(0.0, abs=1e-12)
        assert decay_factor(kind, 2.0) == pytest.approx(0.0, abs=1e-12)  # past the end: stays at 0
    assert decay_factor("linear", 0.25) == 0.75
    assert decay_factor("cosine", 0.5) == pytest.approx(0.5)
    assert decay_factor("none", 0.9) == 1.0


@pytest.mark.parametrize("name", LEVER_MODELS)
@pytest.mark.parametrize("backbone", ["mlp", "conv"])
def test_spectral_norm_bounds_every_discriminator_layer(name, backbone):
    model = build_model(name, backbone=backbone, hidden_dims=[8, 16], spectral_norm=True)
    nets = discriminators(model)
    assert len(nets) == (2 if name == "aegan" else 1)
    for net in nets:
        assert layers(net) and all(nn.utils.parametrize.is_parametrized(m, "weight") for m in layers(net))
    # the generator side is untouched
    side = model.generator if name != "aae" else model.encoder
    assert not any(nn.utils.parametrize.is_parametrized(m) for m in side.modules())
    model.train()
    for net in nets:
        for layer in layers(net):
            for _ in range(30):  # the power iteration converges over forward passes in training mode
                layer.weight  # noqa: B018  (reading the parametrized weight runs one iteration)
            matrix = layer.weight.detach().flatten(1)
            assert torch.linalg.matrix_norm(matrix, ord=2) == pytest.approx(1.0, rel=0.05)
    plain = build_model(name, backbone=backbone, hidden_dims=[8, 16])
    assert not any(nn.utils.parametrize.is_parametrized(m) for net in discriminators(plain) for m in net.modules())


def fit(model: pl.LightningModule, batches: int, **trainer_args) -> pl.Trainer:
    x = torch.rand(16, 1, 28, 28)
    loader = torch.utils.data.DataLoader([(x, torch.arange(16) % 10)] * batches, batch_size=None)
    trainer = pl.Trainer(
        logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        limit_val_batches=0, num_sanity_val_steps=0, **trainer_args,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(model, train_dataloaders=loader)
    return trainer


@pytest.mark.parametrize("name", LEVER_MODELS)
@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_lr_decay_reaches_the_last_batch_at_its_share(name, kind):
    model = build_model(name, lr_decay=kind, spectral_norm=True)
    initial = [[g["lr"] for g in opt.param_groups] for opt in model.configure_optimizers()]
    fit(model, batches=4, max_epochs=2)
    # the last batch ran at progress (1 + 3/4) / 2: its learning rates are that share of the initial ones
    share = decay_factor(kind, 0.875)
    for opt, lrs in zip(model.optimizers(), initial):
        assert [g["lr"] for g in opt.optimizer.param_groups] == pytest.approx([lr * share for lr in lrs])
        assert [g["initial_lr"] for g in opt.optimizer.param_groups] == pytest.approx(lrs)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_lr_decay_follows_max_steps_when_it_ends_the_run_first():
    model = build_model("gan", lr_decay="linear")
    trainer = fit(model, batches=8, max_epochs=10, max_steps=6)  # two optimizer steps per batch: 3 batches
    assert trainer.global_step == 6
    lr = model.optimizers()[0].optimizer.param_groups[0]
    assert lr["lr"] == pytest.approx(lr["initial_lr"] * (1 - 4 / 6))  # the third batch starts at step 4


def test_constant_learning_rate_stays_untouched():
    model = build_model("aegan")
    fit(model, batches=3, max_epochs=1)
    assert all("initial_lr" not in g for opt in model.optimizers() for g in opt.optimizer.param_groups)
    assert model.optimizers()[0].optimizer.param_groups[0]["lr"] == model.lr


def test_lr_decay_without_a_run_length_is_refused_before_training():
    model = build_model("aae", lr_decay="linear")
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(GenzooError, match=r"lr_decay linear .*--trainer\.max_epochs or --trainer\.max_steps"):
        fit(model, batches=3, max_epochs=-1, max_time={"minutes": 1})
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert math.isfinite(sum(float(p.sum()) for p in model.parameters()))
