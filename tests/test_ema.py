"""Moving averages of the weights (``ema_decay``): every model that keeps them, through the registry.

Training moves the live networks and drags the averages behind them; eval mode (validation, sampling,
``genzoo eval``) computes with the averages; a checkpoint keeps both, and a plain ``pl.Trainer`` updates
them as ``genzoo fit`` does.
"""

from __future__ import annotations

import inspect

import pytest
import torch
from tiny import build_model

from genzoo.models.ema import Averaged, averages
from genzoo.registry import MODELS

AVERAGING = [n for n in MODELS.names() if "ema_decay" in inspect.signature(MODELS.get(n).__init__).parameters]
#: the networks each averaging model computes with through their averages outside training
AVERAGED_NETWORKS = {
    "gan": {"generator"},
    "aegan": {"generator", "encoder"},
    "alae": {"mapping", "generator", "encoder"},
    "style_alae": {"mapping", "generator", "encoder"},
}


def averaged_names(model: torch.nn.Module) -> set[str]:
    return {name for name, child in model.named_children() if isinstance(child, Averaged)}


def test_the_adversarial_generators_average_and_no_other_model_does():
    """``AVERAGING`` is read from the signatures, so the tests below follow it: this one pins it. The models
    whose generators train against a discriminator keep averages of the networks that draw samples; any
    other model keeps no copies, so in eval mode it computes with the weights it trained."""
    assert set(AVERAGING) == set(AVERAGED_NETWORKS)
    for name in MODELS.names():
        assert averaged_names(build_model(name)) == AVERAGED_NETWORKS.get(name, set()), name


@pytest.mark.parametrize("name", AVERAGING)
def test_averages_trail_the_live_weights_and_serve_eval_mode(name: str):
    model = build_model(name)
    wrapper = getattr(model, sorted(AVERAGED_NETWORKS[name])[0])
    live, average = wrapper.live, wrapper.average
    start = [p.detach().clone() for p in live.parameters()]
    with torch.no_grad():
        for p in live.parameters():  # a training step moved the live weights by +1
            p.add_(1.0)
    for _ in range(3):
        for each in averages(model):
            each.update()
    for p0, pa, pl_ in zip(start, average.parameters(), live.parameters()):
        assert torch.all(pa > p0) and torch.all(pa < pl_)  # strictly between where it was and where it went
        assert not pa.requires_grad  # never trained by an optimizer
    optimized = {id(p) for opt in _optimizers(model) for group in opt.param_groups for p in group["params"]}
    assert not optimized & {id(p) for p in average.parameters()}
    assert {id(p) for p in live.parameters()} <= optimized
    calls = []
    live.register_forward_hook(lambda *a: calls.append("live"))
    average.register_forward_hook(lambda *a: calls.append("average"))
    x = torch.rand(2, *model.image_shape)
    model.train()
    model.sample(2) if not model.has_encoder else model.encode(x)
    model.eval()
    model.sample(2) if not model.has_encoder else model.encode(x)
    assert calls and set(calls[: len(calls) // 2]) == {"live"} and set(calls[len(calls) // 2 :]) == {"average"}


def _optimizers(model: torch.nn.Module) -> list[torch.optim.Optimizer]:
    optimizers = model.configure_optimizers()
    return optimizers if isinstance(optimizers, list) else [optimizers]


@pytest.mark.parametrize("name", AVERAGING)
def test_zero_decay_keeps_no_copies(name: str):
    model = build_model(name, ema_decay=0.0)
    assert not averages(model) and not averaged_names(model)


def test_a_plain_trainer_updates_the_averages_and_the_checkpoint_keeps_both(tmp_path):
    """The model brings the callback its averages need (``configure_callbacks``): a ``pl.Trainer`` without
    genzoo's CLI moves them; a checkpoint holds live and averaged weights, and loads to compute with the average."""
    import pytorch_lightning as pl
    from torch.utils.data import DataLoader, TensorDataset

    from genzoo.models.loading import load_model

    model = build_model("gan")
    before = [p.detach().clone() for p in model.generator.average.parameters()]
    trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu")  # fmt: skip
    images = torch.rand(8, *model.image_shape)
    trainer.fit(model, DataLoader(TensorDataset(images, torch.zeros(8)), batch_size=4))
    assert int(model.generator.updates) == 2  # one update per batch
    assert any(not torch.equal(p, q) for p, q in zip(before, model.generator.average.parameters()))
    path = tmp_path / "gan.ckpt"
    trainer.save_checkpoint(path)
    state = torch.load(path, weights_only=True)["state_dict"]
    assert {key.split(".")[1] for key in state if key.startswith("generator.")} == {"live", "average", "updates"}
    loaded = load_model(path)
    z = torch.randn(4, loaded.latent_dim)
    assert torch.equal(loaded.decode(z), torch.sigmoid(model.generator.average(z)))
    assert not torch.equal(loaded.decode(z), torch.sigmoid(model.generator.live(z)))


def test_bad_decay_is_one_clear_error():
    from genzoo.errors import GenzooError

    with pytest.raises(GenzooError, match="ema_decay"):
        build_model("gan", ema_decay=1.0)
