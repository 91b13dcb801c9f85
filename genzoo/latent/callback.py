"""``LatentPictures``: the training callback that draws pictures of the model every few epochs and sends
them to the run folder (``images/epochNNN_<name>.png``) and to the active logger (TensorBoard, wandb).

Every run of ``genzoo fit`` gets one with the default settings (the CLI adds it): the model's per-epoch
grids (``genzoo.latent.grids``: samples, reconstructions, interpolations and what its capabilities add).
Add the latent toolkit's pictures, or change the interval, by giving your own::

    genzoo fit --model vae --trainer.callbacks+=genzoo.latent.callback.LatentPictures \
        --trainer.callbacks.every_n_epochs=2 --trainer.callbacks.pictures='[figures,interpolate,traverse,explore]'

The inputs are the first validation images, captured once; the noise is drawn from a fixed seed: the
frames of one run show the same images and codes, so they compare across epochs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from genzoo.datamodules.base import TensorImageDataset
from genzoo.errors import GenzooError
from genzoo.latent.grids import epoch_grids, wants_codes

PICTURES = ("figures", "interpolate", "mirror", "traverse", "explore")
FIGURE_INPUTS = 32  #: validation images the grids are drawn from


class FixedImages:
    """The captured validation images, shaped like a datamodule for ``LatentExplorer`` (its test split)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, image_shape: tuple[int, ...], names: Any) -> None:
        self.splits = {"test": TensorImageDataset(images, labels)}
        self.image_shape, self.class_names = image_shape, names

    def prepare_data(self) -> None: ...

    def setup(self, stage: str | None = None) -> None: ...


class LatentPictures(pl.Callback):
    """Draw ``pictures`` every ``every_n_epochs`` validation epochs, from fixed inputs and fixed noise."""

    def __init__(
        self,
        every_n_epochs: int = 1,
        pictures: list[str] | None = None,
        num_inputs: int = 256,
        seed: int = 0,
    ) -> None:
        """
        Args:
            every_n_epochs: draw after every this many validation epochs (the first epoch always).
            pictures: what to draw, from ``figures`` (the model's grids, ``genzoo.latent.grids``),
                ``interpolate`` (between validation images, or samples for a GAN), ``mirror``, ``traverse``
                (along the top principal direction of the inputs' codes) and ``explore`` (the 2-D plane, or the
                PCA map). Default: figures.
            num_inputs: validation images kept as the fixed inputs (codes for PCA and the maps).
            seed: seed of the prior samples.
        """
        if every_n_epochs < 1:
            raise GenzooError(f"LatentPictures: every_n_epochs must be at least 1, got {every_n_epochs}")
        unknown = sorted(set(pictures or []) - set(PICTURES))
        if unknown:
            raise GenzooError(f"LatentPictures: unknown picture(s) {', '.join(unknown)}; known: {', '.join(PICTURES)}")
        self.every_n_epochs, self.num_inputs, self.seed = every_n_epochs, max(num_inputs, FIGURE_INPUTS), seed
        self.pictures = list(pictures or ["figures"])
        self._inputs: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._count = 0
        self._codes: list[tuple[torch.Tensor, torch.Tensor]] = []  # 2-D codes of this epoch's validation images

    def _draws(self, trainer: pl.Trainer) -> bool:
        """Whether this validation epoch ends with pictures."""
        return (
            not trainer.sanity_checking
            and trainer.state.fn == "fit"
            and not trainer.current_epoch % self.every_n_epochs
        )

    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: Any) -> None:
        self._codes = []

    def on_validation_batch_end(self, trainer: pl.Trainer, pl_module: Any, outputs: Any, batch: Any,
                                batch_idx: int, dataloader_idx: int = 0) -> None:  # fmt: skip
        # The validation loader is not shuffled: its first images are the same every epoch; keep them once.
        if self._count < self.num_inputs and dataloader_idx == 0:
            x, y = batch
            take = self.num_inputs - self._count
            self._inputs.append((x[:take].detach().cpu(), y[:take].detach().cpu()))
            self._count += len(x[:take])
        if dataloader_idx == 0 and "figures" in self.pictures and wants_codes(pl_module) and self._draws(trainer):
            x, y = batch  # the scatter of 2-D codes shows the whole validation split
            codes = pl_module.encode(x, y if pl_module.conditional else None)  # a CVAE's posterior needs y
            self._codes.append((codes.float().cpu(), y.cpu()))

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: Any) -> None:
        # genzoo validate/test write nothing: pictures belong to a run's training
        if not self._inputs or not self._draws(trainer):
            return
        # Under DDP, trainer.log_dir is a collective (rank 0 broadcasts it): every rank must ask, or rank 0
        # waits here for a broadcast while the others wait at the next barrier (a deadlock).
        run_dir = Path(trainer.log_dir or trainer.default_root_dir)
        if not trainer.is_global_zero:
            return
        from torchvision.utils import save_image

        from genzoo.viz import log_image

        x, y = (torch.cat(t) for t in zip(*self._inputs))
        codes = tuple(torch.cat(t) for t in zip(*self._codes)) if self._codes else None
        for name, image in self.draw(pl_module, x, y, codes, trainer.current_epoch).items():
            path = run_dir / "images" / f"epoch{trainer.current_epoch:03d}_{name}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            save_image(image, path)
            for logger in pl_module.loggers:
                log_image(logger, f"images/{name}", image, trainer.global_step)

    @torch.no_grad()
    def draw(
        self, model: Any, x: torch.Tensor, y: torch.Tensor, codes: Any = None, epoch: int = 0
    ) -> dict[str, torch.Tensor]:
        """name -> one RGB or grey image (C, H, W) in [0, 1]: the model's grids, then the latent pictures,
        drawn exactly as ``genzoo interpolate|traverse|explore`` draw them; ``codes``: (codes, labels) of the
        validation split, for models with 2-D codes."""
        from genzoo.viz import image_grid

        out: dict[str, torch.Tensor] = {}
        if "figures" in self.pictures:
            inputs = x[:FIGURE_INPUTS].to(model.device), y[:FIGURE_INPUTS].to(model.device)
            grids = epoch_grids(model, *inputs, codes=codes, epoch=epoch)
            out.update({name: image_grid(images, nrow) for name, (images, nrow) in grids.items()})
        explorer = self.explorer(model, x, y)
        has_encoder = getattr(model, "has_encoder", True)
        n = min(4, len(x) // 2)
        if "interpolate" in self.pictures:
            if has_encoder and n:
                start, end = ",".join(map(str, range(n))), ",".join(map(str, range(n, 2 * n)))
                out["latent_interpolate"] = explorer.interpolate(start, end, steps=10).render()
            else:  # no encoder: between fixed pairs of prior samples
                out["latent_interpolate"] = explorer.interpolate(num=4, steps=10).render()
        if "mirror" in self.pictures and has_encoder:
            out["latent_mirror"] = explorer.interpolate(mirror=True, num=4, steps=10).render()
        if "traverse" in self.pictures and len(x) > 2:
            out["latent_traverse"] = explorer.traverse(direction="pca:0", num=4).render()
        if "explore" in self.pictures and len(x) > 2:
            out["latent_explore"] = explorer.explore().render()
        return out

    def explorer(self, model: Any, x: torch.Tensor, y: torch.Tensor) -> Any:
        from genzoo.latent.explorer import LatentExplorer

        names = getattr(model, "class_names", None)
        data = FixedImages(x, y, tuple(model.image_shape), names)
        return LatentExplorer(model, lambda: data, seed=self.seed)
