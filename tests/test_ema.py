"""Moving averages of the weights (``ema_decay``): every model that keeps them, through the registry.

Training moves the live networks and drags the averages behind them; eval mode (validation, sampling,
``genzoo eval``) computes with the averages; a checkpoint without averages loads, its averages starting
from its trained weights.
"""

from __future__ import annotations

import inspect

import pytest
import torch
from tiny import build_model

from genzoo.registry import MODELS

AVERAGING = [n for n in MODELS.names() if "ema_decay" in inspect.signature(MODELS.get(n).__init__).parameters]


def test_the_adversarial_generators_average_and_no_other_model_does():
    """``AVERAGING`` is read from the signatures, so the tests below follow it: this one pins it. The models
    whose generators train against a discriminator keep averages; any other model keeps no copies, so in
    eval mode it computes with the weights it trained."""
    assert set(AVERAGING) == {"gan", "aegan", "alae", "style_alae"}
    for name in sorted(set(MODELS.names()) - set(AVERAGING)):
        assert len(build_model(name).ema) == 0, name


@pytest.mark.parametrize("name", AVERAGING)
def test_averages_trail_the_live_weights_and_serve_eval_mode(name: str):
    model = build_model(name)
    assert len(model.ema) > 0 and model.ema_decay > 0
    live_name = next(iter(model.ema))
    live, average = getattr(model, live_name), model.ema[live_name]
    start = [p.detach().clone() for p in live.parameters()]
    with torch.no_grad():
        for p in live.parameters():  # a training step moved the live weights by +1
            p.add_(1.0)
    for _ in range(3):
        model.update_averages()
    for p0, pa, pl_ in zip(start, average.parameters(), live.parameters()):
        assert torch.all(pa > p0) and torch.all(pa < pl_)  # strictly between where it was and where it went
        assert not pa.requires_grad  # never trained by an optimizer
    model.train()
    assert model.averaged(live_name) is live
    model.eval()
    assert model.averaged(live_name) is average


@pytest.mark.parametrize("name", AVERAGING)
def test_zero_decay_keeps_no_copies(name: str):
    model = build_model(name, ema_decay=0.0).eval()
    assert len(model.ema) == 0
    assert model.averaged(next(iter(build_model(name).ema))) is getattr(model, next(iter(build_model(name).ema)))


def test_a_checkpoint_without_averages_loads_with_its_trained_weights(tmp_path):
    import pytorch_lightning as pl

    model = build_model("gan")
    trainer = pl.Trainer(logger=False, enable_checkpointing=False, max_epochs=0)
    trainer.strategy.connect(model)
    path = tmp_path / "no_averages.ckpt"
    trainer.save_checkpoint(path)
    checkpoint = torch.load(path, weights_only=False)
    checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if not k.startswith("ema")}
    checkpoint["hyper_parameters"]["log_every_n_steps"] = 50  # an argument no model takes: dropped on loading
    torch.save(checkpoint, path)

    from genzoo.models.loading import load_model

    loaded = load_model(path)
    for p, q in zip(loaded.generator.parameters(), loaded.ema["generator"].parameters()):
        assert torch.equal(p, q)
    z = torch.randn(4, loaded.latent_dim)
    assert torch.equal(loaded.decode(z), torch.sigmoid(model.generator(z)))


def test_bad_decay_is_one_clear_error():
    from genzoo.errors import GenzooError

    with pytest.raises(GenzooError, match="ema_decay"):
        build_model("gan", ema_decay=1.0)
