"""In-memory image data: one uint8 tensor per split, batches fetched whole.

Small models on MNIST are bound by per-batch Python overhead, not arithmetic. So images are decoded
once into a single uint8 tensor (N, C, H, W); the dataset hands the DataLoader a whole batch per call
(``__getitems__``, honoured by torch's DataLoader and DistributedSampler); the batch crosses to the
device as uint8 (4x fewer bytes) and becomes float in [0, 1] only there (``on_after_batch_transfer``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from genzoo.ranges import CheckedArguments, NonNegativeInteger, PositiveInteger
from genzoo.viz import to_unit_float

Batch = tuple[torch.Tensor, torch.Tensor]


class TensorImageDataset(Dataset):
    """uint8 images (N, C, H, W) and integer (or multi-hot) labels, indexable by whole batches."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> None:
        if labels is None:
            labels = torch.full((len(images),), -1, dtype=torch.long)  # -1: no label
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> Batch:
        return self.images[index], self.labels[index]

    def __getitems__(self, indices: list[int]) -> Batch:
        idx = torch.as_tensor(indices)
        if self.images.device.type == "cpu":
            # numpy's take gathers the rows of a CPU uint8 array many times faster than torch indexing
            # (docs/performance.md); the same holds for a memory-mapped cache.
            images = torch.from_numpy(np.take(self.images.numpy(), idx.numpy(), axis=0))
        else:
            images = self.images[idx]
        return images, self.labels[idx]


class ResumableSampler(DistributedSampler):
    """The training order: a permutation fixed by (seed, epoch), this rank's share of it, resumable mid-epoch.

    A DistributedSampler with one replica when there is one process, so that one process and DDP shuffle the
    same way, and Lightning keeps it under DDP instead of putting its own in place. The order depends on the
    seed and the epoch only, not on the global random state, so a run resumed mid-epoch walks the same
    permutation; ``resume_at`` makes it skip the batches the run had already trained on.
    """

    def __init__(self, dataset: Dataset, num_replicas: int = 1, rank: int = 0, seed: int = 0) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=False)
        self._skip: tuple[int, int] | None = None  # (epoch, indices to skip in it)

    def resume_at(self, epoch: int, indices_done: int) -> None:
        self._skip = (epoch, indices_done)

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        if self._skip is not None and self._skip[0] == self.epoch:
            indices = indices[self._skip[1] :]
        self._skip = None  # later epochs, and a second pass over this one, start from their beginning
        return iter(indices)


def keep_batch(batch: Batch) -> Batch:
    """collate_fn for ``__getitems__`` datasets: the batch is already stacked."""
    return batch


def default_data_root() -> Path:
    """Where datasets live unless ``--data.root`` says otherwise.

    ``$GENZOO_DATA`` if set; else the repository's ``data/`` folder (which holds the bundled MNIST)
    when genzoo runs from a checkout; else ``./data``.
    """
    if os.environ.get("GENZOO_DATA"):
        return Path(os.environ["GENZOO_DATA"])
    repo_data = Path(__file__).resolve().parents[2] / "data"
    return repo_data if (repo_data / "mnist").is_dir() else Path("data")


class InMemoryImageDataModule(CheckedArguments, pl.LightningDataModule):
    """Base for every genzoo datamodule. Subclasses fill ``self.splits`` in ``setup``.

    Subclasses must set ``image_shape`` (and ``num_classes`` for labelled data) in ``__init__``, so
    the CLI can pass them to the model before any data is loaded.
    """

    image_shape: tuple[int, int, int]
    num_classes: int = 0
    class_names: list[str] | None = None
    multi_label: bool = False  # True: several labels may hold at once (attributes), not one class per image
    #: the feature extractor ``genzoo eval`` uses by default: a domain classifier where one exists
    feature_extractor: str = "inception"
    #: the extractor used instead when ``feature_extractor`` cannot run here (Inception without weights)
    fallback_extractor: str | None = None

    def __init__(
        self, root: str | None = None, batch_size: PositiveInteger = 128, num_workers: NonNegativeInteger = 0
    ) -> None:
        super().__init__()
        self.root = Path(root) if root else default_data_root()
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.splits: dict[str, TensorImageDataset] = {}

    # ----- where the training epoch stands: saved in checkpoints, so a run resumes mid-epoch ----------
    #: (epoch, training batches this process has taken from the loader in it), counted as they reach the
    #: model: the loader itself runs ahead of training (Lightning prefetches a batch, workers more)
    _progress: tuple[int, int] = (-1, 0)
    _resume: tuple[int, int] | None = None

    def state_dict(self) -> dict[str, Any]:
        epoch, batches = self._progress
        return {"epoch": epoch, "batches": batches}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._resume = (int(state_dict["epoch"]), int(state_dict["batches"]))
        self._progress = self._resume

    def _count_training_batch(self) -> None:
        trainer = self.trainer
        if trainer is None or not trainer.training:
            return
        epoch, batches = self._progress
        self._progress = (trainer.current_epoch, batches + 1 if epoch == trainer.current_epoch else 1)

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        if split not in self.splits:
            self.setup(split)
        dataset = self.splits[split]
        sampler = None
        if shuffle:
            sampler = self._training_sampler(dataset)
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            # Each pass over a loader draws a seed for its workers; from its own generator, not from the global
            # stream the model's noise comes from, so that where a run starts its loaders (a resumed run
            # mid-epoch, a sanity check) does not change the noise it draws.
            generator=torch.Generator().manual_seed(0),
            drop_last=shuffle,  # equal-size training batches keep DDP ranks in step
            collate_fn=keep_batch,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def _training_sampler(self, dataset: Dataset) -> ResumableSampler:
        trainer = self.trainer
        replicas, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        sampler = ResumableSampler(dataset, replicas, rank, seed=int(os.environ.get("PL_GLOBAL_SEED", 0)))
        if self._resume is not None:
            epoch, batches = self._resume
            sampler.resume_at(epoch, batches * self.batch_size)
            self._resume = None
        return sampler

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

    def on_after_batch_transfer(self, batch: Batch, dataloader_idx: int) -> Batch:
        self._count_training_batch()
        images, labels = batch
        return to_unit_float(images), labels  # (B, C, H, W) in [0, 1]
