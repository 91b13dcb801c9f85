"""The speed options and measurements of docs/performance.md: each option trains to the same losses on CPU,
and the throughput numbers count what they say they count."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch
from helpers import build_model

from genzoo.callbacks import ChannelsLast, CompileNetworks, EpochThroughput
from genzoo.datamodules.base import InMemoryImageDataModule, TensorImageDataset


class RandomImages(InMemoryImageDataModule):
    def __init__(self, n: int = 256, batch_size: int = 32, shape: tuple[int, int, int] = (1, 28, 28)) -> None:
        super().__init__(batch_size=batch_size)
        self.image_shape = shape
        g = torch.Generator().manual_seed(0)
        images = torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8)
        labels = torch.randint(0, 10, (n,), generator=g)
        self.splits = {s: TensorImageDataset(images, labels) for s in ("train", "val", "test")}


def quiet_trainer(tmp_path, **kwargs) -> pl.Trainer:
    defaults = {"max_epochs": 1, "logger": False, "enable_checkpointing": False, "enable_progress_bar": False,
                "enable_model_summary": False, "default_root_dir": tmp_path}  # fmt: skip
    return pl.Trainer(**{**defaults, **kwargs})


class FakeClock:
    """Stands in for ``time`` in genzoo.callbacks: seconds pass only when a test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def perf_counter(self) -> float:
        return self.now

    process_time = perf_counter


class Tick(pl.Callback):
    """Each training batch takes 0.01 s on the fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    def on_train_batch_end(self, *args) -> None:
        self.clock.now += 0.01


def test_throughput_excludes_validation(tmp_path, monkeypatch):
    """Lightning validates inside the training epoch; the monitor's time must not include it."""
    import genzoo.callbacks

    clock = FakeClock()
    monkeypatch.setattr(genzoo.callbacks, "time", clock)
    model = build_model("vae", width=16)

    def slow_validation(batch, batch_idx):
        clock.now += 0.3  # 0.3 s per validation batch

    model.validation_step = slow_validation
    model.configure_callbacks = lambda: []  # no figures
    monitor = EpochThroughput()
    trainer = quiet_trainer(tmp_path, callbacks=[monitor, Tick(clock)], limit_train_batches=2, limit_val_batches=2,
                            num_sanity_val_steps=0)  # fmt: skip
    trainer.fit(model, datamodule=RandomImages())
    assert clock.now > 100.6  # the validation did take its time
    assert float(trainer.callback_metrics["throughput/train_seconds"]) == pytest.approx(0.02)
    assert float(trainer.callback_metrics["throughput/cpu_seconds"]) == pytest.approx(0.02)
    assert float(trainer.callback_metrics["throughput/images_per_s"]) == pytest.approx(64 / 0.02)


class LossRecorder(pl.Callback):
    def __init__(self) -> None:
        self.losses: list[float] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.losses.append(float(outputs["loss"]))


def train_losses(
    tmp_path, *callbacks: pl.Callback, name: str = "vae", precision: str = "32-true", **kwargs
) -> list[float]:
    pl.seed_everything(0, verbose=False)
    model = build_model(name, width=8, backbone="conv", **kwargs)
    model.configure_callbacks = lambda: []
    recorder = LossRecorder()
    trainer = quiet_trainer(tmp_path, callbacks=[*callbacks, recorder], limit_train_batches=4, limit_val_batches=0,
                            precision=precision)  # fmt: skip
    trainer.fit(model, datamodule=RandomImages(n=128))
    return recorder.losses


def test_channels_last_trains_to_the_same_losses(tmp_path):
    plain = train_losses(tmp_path)
    nhwc = train_losses(tmp_path, ChannelsLast())
    assert len(plain) == 4
    assert torch.allclose(torch.tensor(nhwc), torch.tensor(plain), rtol=1e-4), (plain, nhwc)


@pytest.mark.slow  # torch.compile takes most of a minute on a CPU
def test_compile_trains_to_the_same_losses(tmp_path):
    plain = train_losses(tmp_path)
    compiled = train_losses(tmp_path, CompileNetworks())
    assert torch.allclose(torch.tensor(compiled), torch.tensor(plain), rtol=1e-3), (plain, compiled)


def test_bf16_mixed_trains_to_nearly_the_same_losses(tmp_path):
    """`--trainer.precision bf16-mixed` (faster where the CPU has bf16; docs/performance.md) keeps the losses
    within bf16's rounding."""
    plain = train_losses(tmp_path)
    bf16 = train_losses(tmp_path, precision="bf16-mixed")
    assert bf16 != plain, "bf16-mixed changed nothing: autocast did not run"
    assert torch.allclose(torch.tensor(bf16), torch.tensor(plain), rtol=1e-3), (plain, bf16)
