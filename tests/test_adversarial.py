"""Adversarial models (every ``multi_phase`` model in the registry): they overfit a tiny batch, their
discriminators learn, nothing turns NaN. Plus the AAE's priors, its supervised variant and its 2-D figures,
and the GAN/AEGAN figures. New multi-phase models are covered by registering them."""

from __future__ import annotations

import math
import warnings

import pytest
import pytorch_lightning as pl
import torch
from conftest import TINY_RUN, assert_one_line_error, run_cli
from tiny import build_model

from genzoo.datamodules.base import default_data_root
from genzoo.datamodules.mnist import load_mnist_arrays
from genzoo.errors import GenzooError
from genzoo.latent.callback import LatentPictures
from genzoo.models.aae import AAE
from genzoo.priors import PRIORS, check_prior, mixture_of_labels, nearest_petal, sample_prior
from genzoo.registry import MODELS

MULTI_PHASE = [name for name in MODELS.names() if MODELS.get(name).multi_phase]
STEPS, EVERY = 150, 25


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """64 real MNIST test digits in [0, 1] and their labels: the fixed batch every test trains on."""
    images, labels = load_mnist_arrays(default_data_root() / "mnist", "test")
    return torch.from_numpy(images[:64].copy()).float() / 255, torch.from_numpy(labels[:64])


def fit_on(model: pl.LightningModule, batch, steps: int, callbacks=(), root=None) -> pl.Trainer:
    """Train on the same batch ``steps`` times (validation on it too when a root folder is given)."""
    loader = torch.utils.data.DataLoader([batch] * steps, batch_size=None)
    trainer = pl.Trainer(
        max_epochs=1, logger=False, log_every_n_steps=1, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, callbacks=list(callbacks), default_root_dir=root,
        limit_val_batches=1 if root else 0, num_sanity_val_steps=0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kwargs = {"val_dataloaders": torch.utils.data.DataLoader([batch], batch_size=None)} if root else {}
        trainer.fit(model, train_dataloaders=loader, **kwargs)
    return trainer


class Watch(pl.Callback):
    """Every EVERY steps, on the fixed batch: discriminator accuracies, reconstruction error, and how far
    samples (from fixed codes) are from their nearest training image; also every logged loss."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y, self.history, self.losses = x, y, [], []

    @torch.no_grad()
    def measure(self, model: pl.LightningModule) -> None:
        model.eval()
        y = self.y if model.conditional else None
        acc = model.discriminator_accuracies(self.x, self.y, torch.Generator().manual_seed(0))
        samples = model.sample(64, torch.Generator().manual_seed(1), y=y)
        nearest = torch.cdist(samples.flatten(1), self.x.flatten(1)).min(1).values.mean()
        recon = ((model.reconstruct(self.x, y) - self.x) ** 2).mean() if model.has_encoder else None
        self.history.append({"acc": {k: float(v) for k, v in acc.items()}, "nearest": float(nearest), "recon": recon})
        model.train()

    def on_train_start(self, trainer, pl_module) -> None:
        self.measure(pl_module)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.losses.append({k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("train/")})
        if (batch_idx + 1) % EVERY == 0:
            self.measure(pl_module)


@pytest.mark.slow  # STEPS training steps for each model
@pytest.mark.parametrize("name", MULTI_PHASE)
def test_overfits_a_tiny_batch_and_discriminators_learn(name, digits):
    pl.seed_everything(0, verbose=False)
    model = build_model(name)
    watch = Watch(*digits)
    fit_on(model, digits, STEPS, [watch])
    start, end = watch.history[0], watch.history[-1]

    # No NaN anywhere: parameters and every loss the model logged.
    for pname, p in model.named_parameters():
        assert torch.isfinite(p).all(), f"{name}: {pname} is not finite"
    assert watch.losses and watch.losses[-1], f"{name} logged no training losses"
    for step, losses in enumerate(watch.losses):
        assert all(math.isfinite(v) for v in losses.values()), f"{name}: non-finite loss at step {step}: {losses}"

    # Every discriminator learns: on the fixed batch its accuracy rises well above chance early on.
    assert start["acc"], f"{name} has a discriminator but reports no accuracy (implement discriminator_accuracies)"
    early = watch.history[1 : 1 + 100 // EVERY]  # the first 100 steps
    for net in start["acc"]:
        best = max(h["acc"][net] for h in early)
        assert best > 0.7, f"{name}: {net} discriminator never beat chance clearly in 100 steps (best {best:.2f})"

    # The model fits the batch: samples move towards the training images; reconstructions improve.
    assert end["nearest"] < 0.95 * start["nearest"], f"{name}: samples did not approach the data {start} -> {end}"
    if model.has_encoder:
        # ALAEs have no pixel loss (real images are rebuilt through the latent game), so the bar is modest.
        assert end["recon"] < 0.8 * start["recon"], f"{name}: reconstruction MSE {start['recon']} -> {end['recon']}"


@pytest.mark.slow  # trains until the label matters
def test_supervised_aae_uses_its_label(digits):
    pl.seed_everything(0, verbose=False)
    x, y = digits
    model = build_model("aae", supervised=True, latent_dim=2)
    assert model.conditional
    fit_on(model, digits, 400)
    model.eval()
    with torch.no_grad():
        right = float(((model.reconstruct(x, y) - x) ** 2).mean())
        wrong = float(((model.reconstruct(x, (y + 1 + torch.arange(len(y)) % 9) % 10) - x) ** 2).mean())
        z = model.prior_sample(8, torch.Generator().manual_seed(0))
        as_three, as_seven = model.decode(z, torch.full((8,), 3)), model.decode(z, torch.full((8,), 7))
    assert wrong > 1.5 * right, f"the decoder ignores the label: MSE {right:.4f} (right) vs {wrong:.4f} (wrong)"
    assert float((as_three - as_seven).abs().mean()) > 0.05, "one code decodes to the same image for 3 and 7"
    with pytest.raises(GenzooError, match="pass the labels"):
        model.decode(z)


@pytest.mark.parametrize("prior", sorted(PRIORS))
def test_priors_sample_their_shape(prior):
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    z = sample_prior(prior, 4000, 4, 1.0, g())
    assert z.shape == (4000, 4) and torch.isfinite(z).all()
    assert torch.equal(z, sample_prior(prior, 4000, 4, 1.0, g())), "a seeded draw must repeat"
    assert torch.allclose(sample_prior(prior, 4000, 4, 5.0, g()), 5 * z), "scale must zoom the prior"
    if prior != "swiss_roll":  # the spiral's arm makes it lopsided
        assert abs(float(z.mean())) < 0.1, "centred prior"
    if prior == "gaussian":
        assert abs(float(z.std()) - 1) < 0.05
    if prior == "uniform":
        assert float(z.abs().max()) <= 1 and float(z.abs().max()) > 0.99


def test_two_d_priors_need_an_even_latent_dim_and_names_are_checked():
    for prior in ("mixture", "swiss_roll"):
        with pytest.raises(GenzooError, match="even latent_dim"):
            check_prior(prior, 3)
    with pytest.raises(GenzooError, match="unknown prior 'cauchy'"):
        sample_prior("cauchy", 2, 2)
    with pytest.raises(GenzooError, match="even latent_dim"):
        AAE(latent_dim=5, prior="swiss_roll")


@pytest.mark.slow  # trains until the codes match the prior
def test_aae_codes_follow_the_mixture_prior(digits):
    """After the regularization phase has had some steps, D can no longer tell codes from prior samples
    as well as it could at first, and the codes sit on the prior's scale."""
    pl.seed_everything(0, verbose=False)
    model = build_model("aae", latent_dim=2, prior="mixture", lr_disc=1e-3, lr_gen=1e-3)
    fit_on(model, digits, 300)
    with torch.no_grad():
        codes = model.encode(digits[0])
    prior = sample_prior("mixture", 4000, 2)
    assert 0.3 < float(codes.norm(dim=1).median() / prior.norm(dim=1).median()) < 3


def test_mixture_of_labels_draws_from_each_labels_petal():
    labels = torch.arange(1000) % 10
    z = mixture_of_labels(labels, 4, 5.0, torch.Generator().manual_seed(0))
    assert z.shape == (1000, 4)
    assert torch.equal(z, mixture_of_labels(labels, 4, 5.0, torch.Generator().manual_seed(0)))
    for pair in (z[:, :2], z[:, 2:]):  # every pair of dimensions on the label's petal
        assert float((nearest_petal(pair) == labels).float().mean()) > 0.97
    with pytest.raises(GenzooError, match="petals 0-9"):
        mixture_of_labels(torch.tensor([3, 10]), 2)
    with pytest.raises(GenzooError, match="even latent_dim"):
        mixture_of_labels(labels, 3)


@pytest.mark.slow  # 1,500 training steps
def test_label_prior_puts_each_digit_on_its_own_petal():
    """The paper's Figure 4: with the labels shown to D, the codes of digit k move to petal k (by chance,
    a tenth of them would be on their own petal). The move across petals takes some 1,000 steps of
    distinct images; a fixed tiny batch does not show it."""
    pl.seed_everything(0, verbose=False)
    images, labels = load_mnist_arrays(default_data_root() / "mnist", "test")
    x, y = torch.from_numpy(images[:5000].copy()).float() / 255, torch.from_numpy(labels[:5000])
    model = AAE(latent_dim=2, hidden_dims=[128, 128], prior="mixture", prior_scale=5.0, label_prior=True,
                lr=1e-3, lr_disc=5e-4, lr_gen=1e-3)  # fmt: skip
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=128, shuffle=True)
    trainer = pl.Trainer(max_steps=1500, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, limit_val_batches=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(model, loader)
    model.eval()
    with torch.no_grad():
        own = float((nearest_petal(model.encode(x)) == y).float().mean())
    assert own > 0.4, f"only {own:.0%} of the codes are on their digit's petal"
    assert set(model.discriminator_accuracies(x[:256], y[:256])) == {"latent"}
    with pytest.raises(GenzooError, match="pass y"):
        model.discriminate(model.encode(x[:4]))
    with pytest.raises(GenzooError, match="label_prior .* needs --model.prior mixture"):
        AAE(latent_dim=2, prior="gaussian", label_prior=True)


@pytest.mark.parametrize("name", ["gan", "aegan", "aae"])
def test_figures_in_the_run_folder(name, digits, tmp_path):
    pl.seed_everything(0, verbose=False)
    model = build_model(name, **({"supervised": True} if name == "aae" else {}))
    fit_on(model, digits, 2, callbacks=[LatentPictures()], root=tmp_path)  # what the CLI adds to every run
    written = {p.name for p in tmp_path.rglob("*.png")}
    expected = {"epoch000_samples.png", "epoch000_interpolations.png"}
    if name != "gan":
        expected.add("epoch000_reconstructions.png")
    if name == "aae":
        expected.add("epoch000_condition_swaps.png")
    assert expected <= written, written


@pytest.mark.slow  # starts genzoo processes
def test_cli_aae_2d_writes_latent_scatter_and_manifold(tmp_path):
    result = run_cli(
        "fit", "--model", "aae", "--model.latent_dim", "2", "--model.prior", "mixture",
        "--model.hidden_dims", "[64]", "--model.latent_disc_dims", "[64]", *TINY_RUN,
        "--trainer.default_root_dir", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    images = tmp_path / "aae-mnist" / "version_0" / "images"
    for name in ("samples", "reconstructions", "interpolations", "latent_scatter", "manifold"):
        assert (images / f"epoch000_{name}.png").is_file(), name


@pytest.mark.slow  # starts genzoo processes
def test_cli_rejects_a_2d_prior_with_an_odd_latent_dim(tmp_path):
    result = run_cli(
        "fit", "--model", "aae", "--model.latent_dim", "3", "--model.prior", "swiss_roll", *TINY_RUN,
        "--trainer.default_root_dir", str(tmp_path),
    )  # fmt: skip
    assert_one_line_error(result, "even latent_dim")
