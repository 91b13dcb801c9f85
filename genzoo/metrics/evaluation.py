"""Every metric on one checkpoint: the engine behind ``genzoo eval`` and ``genzoo bench``.

``Evaluator.evaluate(checkpoint)`` loads the model and its data, then measures

1. reconstruction (MSE, PSNR, SSIM) on the held-out split, for models with an encoder;
2. sample quality: ``num_samples`` images from the model against the held-out split, through each
   feature extractor: FID, KID, precision and recall; an extractor that cannot run here (Inception
   without weights) is reported as ``{"unavailable": reason}`` and the rest goes on; where the data
   names a fallback (the face extractor for faces), that one measures instead, and the card says why;
3. mode coverage of those samples, when the data is labelled and an extractor classifies it;
4. a linear probe on encoder codes (training split -> held-out split), for labelled data;

and returns one JSON-able dict with a protocol card. An ``Evaluator`` keeps the data and the reference
features of each extractor between checkpoints, so a benchmark computes them once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from genzoo.checks import check_data_fits
from genzoo.datamodules.base import TensorImageDataset
from genzoo.errors import GenzooError
from genzoo.metrics import METRIC_GROUPS, MetricGroup
from genzoo.metrics.coverage import mode_coverage
from genzoo.metrics.features import (
    ExtractorUnavailable,
    FeatureExtractor,
    build_extractor,
    extract,
    file_sha256,
)
from genzoo.metrics.precision_recall import knn_radii, precision_recall
from genzoo.metrics.probe import linear_probe
from genzoo.metrics.protocol import protocol_card
from genzoo.metrics.reconstruction import reconstruction_metrics
from genzoo.metrics.sample_quality import fid_kid
from genzoo.registry import DATAMODULES
from genzoo.runs import build_datamodule, data_from_run
from genzoo.viz import to_uint8, write_images

Split = Literal["train", "val", "test"]


@dataclass
class EvalSettings:
    """How to evaluate; every field lands in the protocol card."""

    num_samples: int = 10_000  #: generated images for FID/KID/precision/recall/coverage
    seed: int = 0  #: seeds the samples, the labels given to conditional models, KID subsets, probe subset
    split: Split = "test"  #: held-out split: reconstruction, FID reference, probe evaluation
    reference_size: int | None = None  #: use only the first N images of the held-out split (None: all)
    extractors: list[str] | None = None  #: feature extractors by name; None: the data's default
    metrics: tuple[MetricGroup, ...] = METRIC_GROUPS
    probe_train_size: int | None = None  #: training codes for the probe (None: the whole training split)
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    pr_k: int = 3  #: neighbourhood size of precision/recall
    batch_size: int = 500
    inception_weights: str | None = None
    download: bool = True  #: may an extractor download its weights (Inception)?
    device: str = "cpu"


# ----- which data a checkpoint belongs to: the run folder knows (genzoo.runs) ----------------------------


def resolve_data(checkpoint: Path, data: str | None, root: str | None) -> tuple[str, dict[str, Any]]:
    """--data (or what the run recorded, or mnist) and its init args, with --data-root applied."""
    recorded = data_from_run(checkpoint) if data is None else None
    name, init_args = recorded if recorded else (data or "mnist", {})
    if data is not None:
        DATAMODULES.get(data)  # an unknown name fails here, listing the known ones
    if root is not None:
        init_args["root"] = root
    return name, init_args


# ----- the evaluator --------------------------------------------------------------------------------
def sha256_short(path: Path) -> str:
    return file_sha256(path)[:16]


class Evaluator:
    """Evaluates checkpoints under one ``EvalSettings``; caches data and reference features across calls."""

    def __init__(self, settings: EvalSettings | None = None, log: Callable[[str], None] | None = None) -> None:
        self.settings = settings or EvalSettings()
        self.log = log or (lambda message: None)  # progress lines, e.g. to stderr
        self._data: dict[str, Any] = {}
        self._extractors: dict[str, FeatureExtractor | str] = {}
        self._reference: dict[tuple[str, str], tuple[torch.Tensor, torch.Tensor | None]] = {}
        self._radii: dict[tuple[str, str], torch.Tensor] = {}

    # -- cached pieces
    def datamodule(self, name: str, init_args: dict[str, Any]) -> Any:
        key = f"{name}:{sorted(init_args.items())}"
        if key not in self._data:
            dm = build_datamodule(name, init_args)
            dm.prepare_data()
            dm.setup("fit")
            dm.setup("test")
            self._data[key] = dm
        return self._data[key]

    def extractor(self, name: str) -> FeatureExtractor | str:
        """The extractor, or the reason it is unavailable (a string), built once."""
        if name not in self._extractors:
            s = self.settings
            weights = s.inception_weights if name == "inception" else None
            try:
                self._extractors[name] = build_extractor(name, weights=weights, download=s.download)
            except ExtractorUnavailable as err:
                self._extractors[name] = str(err)
        return self._extractors[name]

    def reference_features(
        self, data_key: str, extractor: FeatureExtractor, images: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        key = (data_key, extractor.name)
        if key not in self._reference:
            self._reference[key] = extract(extractor, images, self.settings.batch_size, self.settings.device)
        return self._reference[key]

    # -- the evaluation
    def evaluate(
        self,
        checkpoint: str | Path,
        data: str | None = None,
        data_root: str | None = None,
        samples_png: Path | None = None,
    ) -> dict[str, Any]:
        """All metric groups of ``settings.metrics`` on one checkpoint, with its protocol card."""
        from genzoo.models.loading import load_model
        from genzoo.registry import MODELS

        s = self.settings
        checkpoint = Path(checkpoint)
        model = load_model(checkpoint).to(s.device)
        data_name, init_args = resolve_data(checkpoint, data, data_root)
        dm = self.datamodule(data_name, init_args)
        check_data_fits(model.image_shape, dm.image_shape, str(checkpoint), "pass the --data it was trained on")
        held_out, train = dm.splits[s.split], dm.splits["train"]
        if s.reference_size and s.reference_size < len(held_out):
            held_out = TensorImageDataset(held_out.images[: s.reference_size], held_out.labels[: s.reference_size])
        if "sample_quality" in s.metrics and min(len(held_out), s.num_samples) <= s.pr_k:
            # precision and recall measure each image's distance to its k-th nearest neighbour in its own set
            raise GenzooError(
                f"precision and recall need more than {s.pr_k} images on each side: the {s.split} split gives "
                f"{len(held_out)}, and {s.num_samples} samples are asked for; use more data or more samples"
            )
        labelled = bool((held_out.labels >= 0).any())  # -1 marks "no label" (whole rows or single attributes)
        self.log(f"{checkpoint}: {MODELS.name_of(model)} on {data_name} ({s.split} split, {len(held_out)} images)")
        result: dict[str, Any] = {
            "checkpoint": str(checkpoint),
            "model": MODELS.name_of(model),
            "data": data_name,
        }
        timings: dict[str, float] = {}

        start = time.perf_counter()
        if "reconstruction" in s.metrics:
            if model.has_encoder:
                result["reconstruction"] = reconstruction_metrics(model, held_out.images, held_out.labels, s.batch_size)
            else:
                result["reconstruction"] = {"skipped": "the model has no encoder"}
        timings["reconstruction"] = time.perf_counter() - start

        start = time.perf_counter()
        requested = None
        if "sample_quality" in s.metrics or "coverage" in s.metrics:
            self.log(f"sampling {s.num_samples} images; features: {', '.join(self.extractor_names(data_name))}")
            samples, requested = self.generate(model, held_out.labels if labelled else None)
            timings["sampling"] = time.perf_counter() - start
            if samples_png is not None:
                write_images(samples[:64], samples_png, nrow=8)
            start = time.perf_counter()
            result.update(self.sample_metrics(samples, requested, data_name, dm, held_out, labelled))
            timings["sample_metrics"] = time.perf_counter() - start

        start = time.perf_counter()
        if "probe" in s.metrics:
            self.log("linear probe on encoder codes")
            result["linear_probe"] = self.probe(model, train, held_out, labelled)
        timings["probe"] = time.perf_counter() - start

        uses_features = "sample_quality" in s.metrics or "coverage" in s.metrics
        extractors = self.choose_extractors(data_name) if uses_features else []
        result["protocol"] = protocol_card(
            checkpoint=str(checkpoint),
            checkpoint_sha256=sha256_short(checkpoint),
            model=result["model"],
            data={"name": data_name, "root": str(dm.root), **{k: v for k, v in init_args.items() if k != "root"}},
            reference_split=s.split,
            reference_size=len(held_out),
            num_samples=s.num_samples,
            seed=s.seed,
            conditional_labels="drawn from the reference split's labels" if requested is not None else None,
            extractors=[self.extractor_card(name, why) for name, why in extractors],
            kid={"subsets": s.kid_subsets, "subset_size": min(s.kid_subset_size, s.num_samples, len(held_out))},
            precision_recall_k=s.pr_k,
            probe_train_size=s.probe_train_size or len(train),
            metrics=list(s.metrics),
            device=s.device,
        )
        result["seconds"] = {k: round(v, 2) for k, v in timings.items()}
        return result

    def choose_extractors(self, data_name: str) -> list[tuple[str, str]]:
        """The extractors that measure samples of ``data_name``, each with why it was chosen.

        ``--extractors`` wins; otherwise the data's own (``feature_extractor``), and when that one cannot
        run here and the data names a ``fallback_extractor``, the fallback as well: the first is still
        listed, as unavailable with its reason, so a result says what it could not measure.
        """
        if self.settings.extractors:
            return [(name, "asked for (--extractors)") for name in self.settings.extractors]
        data = DATAMODULES.get(data_name)
        chosen = [(data.feature_extractor, f"the default for {data_name}")]
        fallback = data.fallback_extractor
        if fallback and isinstance(self.extractor(data.feature_extractor), str):
            why = f"{data.feature_extractor} is unavailable here; {fallback} is {data_name}'s offline extractor"
            chosen.append((fallback, why))
        return chosen

    def extractor_names(self, data_name: str) -> list[str]:
        return [name for name, _ in self.choose_extractors(data_name)]

    def extractor_card(self, name: str, why: str) -> dict[str, Any]:
        """What the protocol card records about one chosen extractor: its description, or why it could not run."""
        extractor = self.extractor(name)
        if isinstance(extractor, str):
            return {"name": name, "unavailable": extractor, "chosen": why}
        return {**extractor.describe(), "chosen": why}

    @torch.no_grad()
    def generate(self, model: Any, labels: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``num_samples`` images as uint8 (N, C, H, W); conditional models get labels drawn from ``labels``."""
        s = self.settings
        generator = torch.Generator().manual_seed(s.seed)
        requested = None
        if model.conditional:
            if labels is None:
                raise GenzooError("a conditional model needs labelled data to sample from; pass labelled --data")
            picks = torch.randint(len(labels), (s.num_samples,), generator=generator)
            requested = labels[picks]
        chunks = []
        for start in range(0, s.num_samples, s.batch_size):
            n = min(s.batch_size, s.num_samples - start)
            if requested is not None:
                images = model.sample(n, generator=generator, y=requested[start : start + n].to(model.device))
            else:
                images = model.sample(n, generator=generator)
            chunks.append(to_uint8(images).cpu())
        return torch.cat(chunks), requested

    def sample_metrics(
        self,
        samples: torch.Tensor,
        requested: torch.Tensor | None,
        data_name: str,
        dm: Any,
        held_out: Any,
        labelled: bool,
    ) -> dict[str, Any]:
        """FID/KID/precision/recall per extractor, and coverage from the first one that classifies the data."""
        s = self.settings
        data_key = f"{data_name}:{dm.root}:{s.split}:{len(held_out)}"
        quality: dict[str, Any] = {}
        coverage: dict[str, Any] = {"skipped": "no extractor here classifies this data"}
        if not labelled:
            coverage = {"skipped": "the data has no labels"}
        for name in self.extractor_names(data_name):
            extractor = self.extractor(name)
            if isinstance(extractor, str):
                quality[name] = {"unavailable": extractor}
                continue
            try:
                extractor.check_images(tuple(dm.image_shape))
            except ExtractorUnavailable as err:
                quality[name] = {"unavailable": str(err)}
                continue
            real, real_logits = self.reference_features(data_key, extractor, held_out.images)
            fake, fake_logits = extract(extractor, samples, s.batch_size, s.device)
            if "sample_quality" in s.metrics:
                if (data_key, name) not in self._radii:  # the reference's k-NN radii: the same for every model
                    self._radii[data_key, name] = knn_radii(real, s.pr_k)
                quality[name] = {
                    **fid_kid(real, fake, s.kid_subsets, s.kid_subset_size, s.seed),
                    **precision_recall(real, fake, s.pr_k, self._radii[data_key, name]),
                }
            classifies = fake_logits is not None and extractor.num_classes == dm.num_classes
            if "coverage" in s.metrics and labelled and classifies and "extractor" not in coverage:
                labels_1d = requested if requested is not None and requested.dim() == 1 else None
                coverage = {"extractor": name, **mode_coverage(fake_logits, real_logits, labels_1d)}
        out: dict[str, Any] = {}
        if "sample_quality" in s.metrics:
            out["sample_quality"] = quality
        if "coverage" in s.metrics:
            out["coverage"] = coverage
        return out

    def probe(self, model: Any, train: Any, held_out: Any, labelled: bool) -> dict[str, Any]:
        if not model.has_encoder:
            return {"skipped": "the model has no encoder"}
        if not labelled:
            return {"skipped": "the data has no labels"}
        s = self.settings
        index = torch.arange(len(train))
        if s.probe_train_size and s.probe_train_size < len(train):
            index = torch.randperm(len(train), generator=torch.Generator().manual_seed(s.seed))[: s.probe_train_size]
        train_codes = model.encode_all(train.images[index], train.labels[index], s.batch_size)
        test_codes = model.encode_all(held_out.images, held_out.labels, s.batch_size)
        result = linear_probe(train_codes, train.labels[index], test_codes, held_out.labels)
        if model.conditional:
            result["note"] = "codes of a conditional encoder, given the labels: low accuracy means label-free codes"
        return result
