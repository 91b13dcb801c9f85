"""Registries: short names -> classes or functions, the one mechanism for everything looked up by name.

The zoo's own entries are declared here as *lazy* entries, ``"module:attribute"`` strings with a
one-line summary. Nothing is imported until ``get`` is called, so ``genzoo list`` and ``genzoo --help``
answer without loading torch, and this module imports nothing from genzoo but its error type: no
import circle can run through it. Smaller lookups (priors, feature extractors) register their objects
eagerly with the ``register`` decorator in their own module.

Tests parametrize over ``MODELS``, ``BACKBONES`` and ``DATAMODULES``, so a new entry is tested without
new test code. A duplicate name raises: two things answering to one name is always a bug.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from genzoo.errors import GenzooError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named mapping from short names to objects, each given directly or as a lazy import path."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._targets: dict[str, str] = {}  # name -> "module:attribute"
        self._summaries: dict[str, str] = {}
        self._loaded: dict[str, T] = {}

    def add(self, name: str, target: str, summary: str = "") -> None:
        """Declare ``name`` as the object at ``target`` (``"package.module:Attribute"``), imported on use."""
        self._claim(name)
        if ":" not in target:
            raise ValueError(f"lazy {self.kind} target {target!r} must look like 'package.module:Attribute'")
        self._targets[name] = target
        self._summaries[name] = summary

    def register(self, name: str | None = None, summary: str = "") -> Callable[[T], T]:
        """Decorator: ``@PRIORS.register("gaussian")`` (or no name: the lower-cased object name)."""

        def decorator(obj: T) -> T:
            key = name or getattr(obj, "__name__", "").lower()
            if not key:
                raise ValueError(f"cannot register {obj!r} in {self.kind} registry without a name")
            self._claim(key)
            self._loaded[key] = obj
            self._targets[key] = f"{getattr(obj, '__module__', '')}:{getattr(obj, '__qualname__', key)}"
            doc = (getattr(obj, "__doc__", None) or "").strip()
            self._summaries[key] = summary or (doc.splitlines()[0].rstrip(".") if doc else "")
            return obj

        return decorator

    def _claim(self, name: str) -> None:
        if name in self._targets:
            raise ValueError(f"duplicate {self.kind} name {name!r}: already registered as {self._targets[name]}")

    def _check(self, name: str) -> None:
        if name not in self._targets:
            raise GenzooError(f"unknown {self.kind} {name!r}; known {self.kind}s: {', '.join(self.names())}")

    def get(self, name: str) -> T:
        """The entry called ``name`` (imported now if lazy); an unknown name lists the known ones."""
        self._check(name)
        if name not in self._loaded:
            module, _, attribute = self._targets[name].partition(":")
            obj: Any = importlib.import_module(module)
            for part in attribute.split("."):
                obj = getattr(obj, part)
            self._loaded[name] = obj
        return self._loaded[name]

    def class_path(self, name: str) -> str:
        """The dotted path of entry ``name`` (``genzoo.models.vae.VAE``), known without importing it."""
        self._check(name)
        return self._targets[name].replace(":", ".")

    def name_for_path(self, path: str) -> str | None:
        """The name whose class path (as in a saved config.yaml) is ``path``, or None; imports nothing."""
        return next((name for name in self._targets if self.class_path(name) == path), None)

    def summary(self, name: str) -> str:
        """The one-line description of ``name`` (for ``genzoo list`` and help texts)."""
        self._check(name)
        return self._summaries[name]

    def name_of(self, obj: Any) -> str | None:
        """The registered name of a class (or of an instance's class), or None; imports nothing."""
        cls = obj if isinstance(obj, type) else type(obj)
        path = f"{cls.__module__}:{cls.__qualname__}"
        for key, target in self._targets.items():
            if target == path or self._loaded.get(key) is cls:
                return key
        return None

    def names(self) -> list[str]:
        return sorted(self._targets)

    def __contains__(self, name: object) -> bool:
        return name in self._targets

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._targets)


# ----- the zoo's entries: adding a model, backbone or dataset is one file plus one line here ------------
BACKBONES: Registry[Any] = Registry("backbone")
BACKBONES.add("mlp", "genzoo.nn.backbones:MLPBackbone", "Fully connected networks on flattened images")
BACKBONES.add("conv", "genzoo.nn.backbones:ConvBackbone", "DCGAN-style strided convolutions, one level per halving")

MODELS: Registry[Any] = Registry("model")
MODELS.add("ae", "genzoo.models.ae:AE", "Autoencoder: encoder and decoder trained on reconstruction alone")
MODELS.add("vae", "genzoo.models.vae:VAE", "Variational autoencoder (Kingma & Welling 2014)")
MODELS.add("cvae", "genzoo.models.cvae:CVAE", "Conditional VAE (Sohn et al. 2015): encoder and decoder see the label")
MODELS.add("wae", "genzoo.models.wae:WAE", "Wasserstein autoencoder, MMD penalty (Tolstikhin et al. 2018)")
MODELS.add("aae", "genzoo.models.aae:AAE", "Adversarial autoencoder (Makhzani et al. 2016): a GAN on the codes")
MODELS.add("gan", "genzoo.models.gan:GAN", "GAN baseline with exactly AEGAN's generator and image discriminator")
MODELS.add("aegan", "genzoo.models.aegan:AEGAN", "AEGAN (Lazarou 2020): a GAN and an autoencoder in both spaces")
MODELS.add("alae", "genzoo.models.alae:ALAE", "Adversarial latent autoencoder (Pidhorskyi et al. 2020)")
MODELS.add("style_alae", "genzoo.models.style_alae:StyleALAE", "ALAE with a StyleGAN-like generator, styles per level")

DATAMODULES: Registry[Any] = Registry("dataset")
DATAMODULES.add("mnist", "genzoo.datamodules.mnist:MNISTDataModule", "Handwritten digits, 28x28, labels 0-9")
DATAMODULES.add("celeba", "genzoo.datamodules.celeba:CelebADataModule", "CelebA aligned faces, 40 attributes")
DATAMODULES.add("anime", "genzoo.datamodules.anime:AnimeDataModule", "Anime faces (Kaggle layouts), unlabelled")
DATAMODULES.add("folder", "genzoo.datamodules.folder:FolderDataModule", "Any directory of images")
