"""The registries, and every registered model x backbone: builds, runs, stays finite."""

from __future__ import annotations

import pytest
import torch
from tiny import build_model

from genzoo.errors import GenzooError
from genzoo.registry import BACKBONES, DATAMODULES, MODELS, Registry


def test_register_get_and_names():
    reg: Registry = Registry("widget")

    @reg.register("small")
    class Small:
        pass

    assert reg.get("small") is Small
    assert reg.name_of(Small()) == "small"
    assert "small" in reg and reg.names() == ["small"]


def test_duplicate_name_raises():
    reg: Registry = Registry("widget")
    reg.register("a")(int)
    with pytest.raises(ValueError, match="duplicate widget name 'a'"):
        reg.register("a")(float)


def test_unknown_name_lists_known_ones():
    with pytest.raises(GenzooError, match=r"unknown model 'nope'; known models: .*vae"):
        MODELS.get("nope")


def test_every_model_class_is_registered():
    """The registry is a table written by hand: a model class missing from it would be invisible to the CLI,
    the docs and every test parametrized over ``MODELS``. Every LightningModule that genzoo.models defines,
    apart from the base all the registered models share, is registered."""
    import importlib
    import inspect
    import pkgutil

    import pytorch_lightning as pl

    import genzoo.models

    registered = {MODELS.get(name) for name in MODELS.names()}
    shared_bases = set.intersection(*(set(cls.__mro__) for cls in registered))
    defined = set()
    for info in pkgutil.iter_modules(genzoo.models.__path__, "genzoo.models."):
        module = importlib.import_module(info.name)
        defined |= {
            obj
            for obj in vars(module).values()
            if inspect.isclass(obj) and issubclass(obj, pl.LightningModule) and obj.__module__ == module.__name__
        }
    assert {cls.__qualname__ for cls in defined - shared_bases} == {cls.__qualname__ for cls in registered}


SHAPES = [(1, 28, 28), (3, 32, 32)]


@pytest.mark.parametrize("image_shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("backbone", BACKBONES.names())
@pytest.mark.parametrize("name", MODELS.names())
def test_every_model_and_backbone_produces_finite_images(name, backbone, image_shape):
    torch.manual_seed(0)
    model = build_model(name, width=None, image_shape=image_shape, backbone=backbone).eval()
    y = torch.arange(4) % 10
    cond = y if model.conditional else None
    samples = model.sample(4, generator=torch.Generator().manual_seed(0), y=cond)
    assert samples.shape == (4, *image_shape)
    assert torch.isfinite(samples).all() and samples.min() >= 0 and samples.max() <= 1
    if model.has_encoder:
        x = torch.rand(4, *image_shape)
        assert model.reconstruct(x, cond).shape == x.shape
        assert model.encode(x, cond).shape[0] == 4


@pytest.mark.parametrize("backbone", BACKBONES.names())
def test_backbone_roles_shapes(backbone):
    family = BACKBONES.get(backbone)(None)
    shape = (1, 28, 28)
    x = torch.rand(5, *shape)
    assert family.encoder(shape, 7)(x).shape == (5, 7)
    assert family.encoder(shape, 7, cond_dim=3)(x, torch.ones(5, 3)).shape == (5, 7)
    assert family.decoder(7, shape)(torch.randn(5, 7)).shape == (5, *shape)
    assert family.discriminator(shape)(x).shape == (5,)


def test_conv_backbone_64x64_rgb():
    family = BACKBONES.get("conv")(None)
    x = torch.rand(2, 3, 64, 64)
    assert family.encoder((3, 64, 64), 32)(x).shape == (2, 32)
    assert family.decoder(32, (3, 64, 64))(torch.randn(2, 32)).shape == (2, 3, 64, 64)


def test_conv_backbone_rejects_impossible_levels():
    with pytest.raises(GenzooError, match="cannot be halved"):
        BACKBONES.get("conv")([8, 8, 8, 8]).encoder((1, 28, 28), 4)


def test_one_halving_rule_for_conv_and_style_levels():
    from genzoo.nn.backbones import conv_levels
    from genzoo.nn.blocks import halvings
    from genzoo.nn.style import style_levels

    assert [halvings(s) for s in (1, 7, 28, 32, 64, 96)] == [0, 0, 2, 5, 6, 5]
    assert [conv_levels(s) for s in (28, 32, 64, 16, 15)] == [2, 2, 3, 1, 0]
    assert [style_levels(s) for s in (28, 32, 64, 8, 7, 6)] == [3, 4, 5, 2, 1, 1]
    for side in range(1, 257):  # style levels stop where the next halving would fall below the smallest side
        levels = style_levels(side, smallest=4)
        assert side // 2 ** (levels - 1) >= 4 or levels == 1
        assert side % 2**levels or side // 2**levels < 4


@pytest.mark.parametrize("registry", [MODELS, BACKBONES, DATAMODULES], ids=lambda r: r.kind)
def test_lazy_entries_resolve_to_what_they_name(registry):
    for name in registry.names():
        obj = registry.get(name)
        assert registry.class_path(name) == f"{obj.__module__}.{obj.__qualname__}"
        assert registry.name_of(obj) == name and registry.name_for_path(registry.class_path(name)) == name
        assert registry.summary(name), f"{registry.kind} {name!r} has no one-line summary"


def test_lazy_entry_is_imported_on_first_get_only():
    reg: Registry = Registry("widget")
    reg.add("od", "collections:OrderedDict", "an ordered dict")
    assert reg.class_path("od") == "collections.OrderedDict" and reg.summary("od") == "an ordered dict"
    import collections

    assert reg.get("od") is collections.OrderedDict
    with pytest.raises(GenzooError, match="unknown widget 'x'"):
        reg.class_path("x")
    with pytest.raises(ValueError, match="duplicate widget name 'od'"):
        reg.add("od", "collections:Counter")
