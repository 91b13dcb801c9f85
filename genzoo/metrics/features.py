"""Feature extractors for sample-quality metrics: one interface, a registry, and two members.

FID, KID and precision/recall compare two sets of images through the features of a fixed network, so
the number means only as much as that network: the extractor is part of the metric. Every extractor
here maps images in [0, 1] (N, C, H, W) to features (N, num_features), carries the sha256 of its
weights (``checksum``), and names what it expects, so the protocol card of a result can say exactly
what was measured.

- ``mnist_classifier``: a small CNN trained on MNIST's training split by
  ``experiments/train_mnist_classifier.py``; its weights ship with the package (``weights/``). Features
  are its 128-d penultimate layer; its logits classify generated digits for mode coverage. The standard
  choice for MNIST, where Inception's ImageNet features say little about digits.
- ``face_features``: a small CNN trained on the CelebA and anime faces by
  ``experiments/train_face_features.py`` (contrastive, plus CelebA's attributes); its weights ship with
  the package. Faces at 32x32, 128-d features, no logits. The face data's offline extractor: evaluation
  uses it where Inception cannot run (see ``fallback_extractor`` on the datamodules).
- ``inception``: the Inception-v3 of the original FID paper, through torchmetrics and torch-fidelity.
  Its weights come from the internet; where they are absent (offline, no local file) the extractor is
  *unavailable* with a reason, and evaluation reports that instead of failing.

A new extractor is a function ``(weights: str | None, download: bool) -> FeatureExtractor`` registered
in ``EXTRACTORS``; it raises ``ExtractorUnavailable(reason)`` when it cannot run here.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genzoo.registry import Registry
from genzoo.viz import to_unit_float

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MNIST_CLASSIFIER_WEIGHTS = WEIGHTS_DIR / "mnist_classifier.pt"
FACE_FEATURES_WEIGHTS = WEIGHTS_DIR / "face_features.pt"
INCEPTION_WEIGHTS_ENV = "GENZOO_INCEPTION_WEIGHTS"
DOWNLOAD_TIMEOUT_S = 20.0  # an offline machine must learn quickly that the download will not happen


class ExtractorUnavailable(Exception):
    """The extractor cannot run here (no weights, missing package); the message says why."""


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class FeatureExtractor(nn.Module):
    """The interface: images in [0, 1] (N, C, H, W) -> features (N, num_features).

    Subclasses set ``name``, ``num_features``, ``checksum`` (sha256 of the weights) and, when they
    only accept one image size, ``image_shape``. Domain classifiers also set ``num_classes`` and
    implement ``classify``; ``features_and_logits`` gives both from one forward pass.
    """

    name: str = ""
    num_features: int = 0
    num_classes: int = 0
    image_shape: tuple[int, int, int] | None = None
    checksum: str = ""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.features_and_logits(images)[0]

    def features_and_logits(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        raise NotImplementedError

    def check_images(self, image_shape: tuple[int, ...]) -> None:
        """Raise ExtractorUnavailable if images of this shape (C, H, W) cannot go through."""
        if self.image_shape is not None and tuple(image_shape) != tuple(self.image_shape):
            shape = "x".join(map(str, self.image_shape))
            raise ExtractorUnavailable(f"expects {shape} images, the data has {'x'.join(map(str, image_shape))}")

    def describe(self) -> dict[str, Any]:
        """What the protocol card records about this extractor."""
        return {"name": self.name, "sha256": self.checksum, "num_features": self.num_features}

    def train(self, mode: bool = True) -> FeatureExtractor:
        return super().train(False)  # a metric's network never leaves evaluation mode


EXTRACTORS: Registry[Callable[..., FeatureExtractor]] = Registry("feature extractor")


def build_extractor(name: str, weights: str | None = None, download: bool = True) -> FeatureExtractor:
    """The extractor registered as ``name``; raises ExtractorUnavailable when it cannot run here."""
    extractor = EXTRACTORS.get(name)(weights=weights, download=download)
    return extractor.eval().requires_grad_(False)


def load_shipped_weights(net: nn.Module, path: Path, script: str) -> str:
    """Load ``path`` (a state dict, read with weights_only) into ``net``; its sha256, or ExtractorUnavailable."""
    if not path.is_file():
        raise ExtractorUnavailable(f"weights {path} are missing; run {script}")
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return file_sha256(path)


def training_record(weights: Path) -> dict[str, Any]:
    """The JSON record the training script wrote beside the weights ({} when there is none)."""
    record = weights.with_suffix(".json")
    return json.loads(record.read_text()) if record.is_file() else {}


# ----- the MNIST domain classifier ---------------------------------------------------------------
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # pixel statistics of MNIST's training images


def conv_bn_relu(c_in: int, c_out: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=1, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(c_out), nn.ReLU())


class MNISTClassifierNet(nn.Module):
    """Three conv layers with batch norm, two max-pools, then 576 -> 128 -> 10 fully connected.

    Small on purpose: the first layer halves the resolution at once (a 4x4 stride-2 conv), so features
    of whole splits take seconds on a CPU and the weights ship with genzoo (docs/metrics.md has its size).
    Features are the 128 ReLU outputs before the last layer.
    """

    num_features = 128

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv_bn_relu(1, 32, kernel=4, stride=2),  # (B, 32, 14, 14)
            conv_bn_relu(32, 64), nn.MaxPool2d(2),  # (B, 64, 7, 7)
            conv_bn_relu(64, 64), nn.MaxPool2d(2), nn.Flatten(),  # (B, 64 * 3 * 3)
            nn.Linear(64 * 3 * 3, self.num_features), nn.ReLU(),  # (B, 128)
        )  # fmt: skip
        self.dropout = nn.Dropout(0.3)  # training only; features and logits in eval mode are deterministic
        self.head = nn.Linear(self.num_features, 10)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (B, 1, 28, 28) in [0, 1] -> (features (B, 128), logits (B, 10))."""
        features = self.body((images - MNIST_MEAN) / MNIST_STD)
        return features, self.head(self.dropout(features))


class MNISTClassifier(FeatureExtractor):
    """The MNIST domain extractor: the 128-d penultimate features of a digit classifier."""

    name = "mnist_classifier"
    num_features = MNISTClassifierNet.num_features
    num_classes = 10
    image_shape = (1, 28, 28)

    def __init__(self, weights: str | Path = MNIST_CLASSIFIER_WEIGHTS) -> None:
        super().__init__()
        self.net = MNISTClassifierNet()
        self.weights_path = Path(weights)
        self.checksum = load_shipped_weights(self.net, self.weights_path, "experiments/train_mnist_classifier.py")

    def features_and_logits(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net(images)

    def describe(self) -> dict[str, Any]:
        card = super().describe()
        record = training_record(self.weights_path)
        if record:  # accuracy and training recipe, written by the training script
            card["test_accuracy"] = record.get("test_accuracy")
            card["trained_by"] = record.get("script")
        return card


@EXTRACTORS.register("mnist_classifier")
def mnist_classifier(weights: str | None = None, download: bool = True) -> FeatureExtractor:
    return MNISTClassifier(weights or MNIST_CLASSIFIER_WEIGHTS)


# ----- the face feature network -------------------------------------------------------------------
FACE_SIZE = 32  # the side the face network sees; larger images are shrunk to it, smaller ones enlarged


def face_input(images: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] (N, 1 or 3, H, W) -> (N, 3, 32, 32), the way the network saw faces in training.

    Grayscale is repeated to RGB. Other sizes are resized with antialiased bilinear interpolation, so a
    larger image is averaged down rather than sampled (sampling would alias, and change with the size).
    """
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    if images.shape[-2:] != (FACE_SIZE, FACE_SIZE):
        images = F.interpolate(images, (FACE_SIZE, FACE_SIZE), mode="bilinear", antialias=True, align_corners=False)
    return images


class FaceFeatureNet(nn.Module):
    """Three 3x3 stride-2 conv layers with batch norm (32 -> 16 -> 8 -> 4), then 2048 -> 128.

    The 128 outputs of the last linear layer, before any activation, are the features: the network is
    read at full rank rather than through a ReLU that zeroes half the dimensions. Two heads exist only
    for training: a projection for the contrastive loss and a linear read-out of CelebA's 40 attributes.
    Small for the same reason as the MNIST network: whole splits go through it in seconds on a CPU.
    """

    num_features = 128
    num_attributes = 40

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv_bn_relu(3, 32, stride=2),  # (B, 32, 16, 16)
            conv_bn_relu(32, 64, stride=2),  # (B, 64, 8, 8)
            conv_bn_relu(64, 128, stride=2), nn.Flatten(),  # (B, 128 * 4 * 4)
            nn.Linear(128 * 4 * 4, self.num_features),  # (B, 128)
        )  # fmt: skip
        self.projection = nn.Sequential(nn.ReLU(), nn.Linear(self.num_features, 128), nn.ReLU(), nn.Linear(128, 64))
        self.attributes = nn.Linear(self.num_features, self.num_attributes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, 32, 32) in [0, 1] -> features (B, 128)."""
        return self.body((images - 0.5) / 0.25)


class FaceFeatures(FeatureExtractor):
    """The face data's offline extractor: 128-d features of a network trained on the faces here."""

    name = "face_features"
    num_features = FaceFeatureNet.num_features

    def __init__(self, weights: str | Path = FACE_FEATURES_WEIGHTS) -> None:
        super().__init__()
        self.net = FaceFeatureNet()
        self.weights_path = Path(weights)
        self.checksum = load_shipped_weights(self.net, self.weights_path, "experiments/train_face_features.py")

    def features_and_logits(self, images: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.net(face_input(images)), None

    def describe(self) -> dict[str, Any]:
        card = super().describe()
        card["input"] = f"resized to {FACE_SIZE}x{FACE_SIZE} RGB"
        record = training_record(self.weights_path)
        if record:
            card["trained_by"] = record.get("script")
            card["held_out"] = record.get("held_out")
        return card


@EXTRACTORS.register("face_features")
def face_features(weights: str | None = None, download: bool = True) -> FeatureExtractor:
    return FaceFeatures(weights or FACE_FEATURES_WEIGHTS)


# ----- Inception-v3 (FID's original network) -------------------------------------------------------
def inception_weights_path(weights: str | None, download: bool) -> Path:
    """A local file with FID's Inception-v3 weights, or ExtractorUnavailable saying why there is none.

    Looked for in order: ``weights`` (``--inception-weights``), ``$GENZOO_INCEPTION_WEIGHTS``, torch
    hub's cache (where torch-fidelity's own download puts them); if ``download``, that download is tried
    once, with a short timeout, so an offline machine is told rather than kept waiting.
    """
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3
    except ImportError:
        raise ExtractorUnavailable("torch-fidelity is not installed (pip install torch-fidelity)") from None
    explicit = weights or os.environ.get(INCEPTION_WEIGHTS_ENV)
    if explicit:
        if not Path(explicit).is_file():
            raise ExtractorUnavailable(f"Inception weights file {explicit} does not exist")
        return Path(explicit)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / URL_INCEPTION_V3.rsplit("/", 1)[-1]
    if cached.is_file():
        return cached
    if not download:
        raise ExtractorUnavailable(
            f"no weights at {cached} and downloading is off; pass --inception-weights or ${INCEPTION_WEIGHTS_ENV}"
        )
    cached.parent.mkdir(parents=True, exist_ok=True)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        # download_url_to_file writes a temporary file and moves it into place only when complete
        torch.hub.download_url_to_file(URL_INCEPTION_V3, str(cached), progress=False)
    except Exception as err:  # every network failure means the same here: no weights
        raise ExtractorUnavailable(
            f"no weights at {cached} and the download failed ({type(err).__name__}); "
            f"pass --inception-weights or ${INCEPTION_WEIGHTS_ENV} with a local copy"
        ) from None
    finally:
        socket.setdefaulttimeout(previous)
    return cached


class InceptionV3(FeatureExtractor):
    """FID's Inception-v3 (2048-d pool features), via torchmetrics' wrapper of torch-fidelity's network."""

    name = "inception"
    num_features = 2048

    def __init__(self, weights: Path) -> None:
        super().__init__()
        from torchmetrics.image.fid import NoTrainInceptionV3

        try:
            self.net = NoTrainInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(weights))
        except Exception as err:  # a truncated or foreign file fails inside torch.load / load_state_dict
            raise ExtractorUnavailable(f"Inception weights {weights} cannot be loaded ({type(err).__name__})") from None
        self.checksum = file_sha256(weights)

    def features_and_logits(self, images: torch.Tensor) -> tuple[torch.Tensor, None]:
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)  # grayscale -> RGB, as every FID tool does
        # The network takes uint8 RGB and resizes to 299x299 itself.
        return self.net(images.clamp(0, 1).mul(255).round().to(torch.uint8)), None


@EXTRACTORS.register("inception")
def inception(weights: str | None = None, download: bool = True) -> FeatureExtractor:
    return InceptionV3(inception_weights_path(weights, download))


@torch.no_grad()
def extract(
    extractor: FeatureExtractor, images: torch.Tensor, batch_size: int = 500, device: str | torch.device = "cpu"
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Features (N, F) and logits (N, K) or None of images (N, C, H, W), uint8 or float in [0, 1]."""
    extractor = extractor.to(device)
    features, logits = [], []
    for start in range(0, len(images), batch_size):
        batch = to_unit_float(images[start : start + batch_size], device)
        f, lg = extractor.features_and_logits(batch)
        features.append(f.float().cpu())
        if lg is not None:
            logits.append(lg.float().cpu())
    return torch.cat(features), (torch.cat(logits) if logits else None)
