"""What every lab shares: training through genzoo's Python API (with a checkpoint cache), the bundled
MNIST, the shipped digit classifier, drawing, and the PASS/FAIL checks of the exercises.

Nothing here is a model: every model is built by ``genzoo.registry.MODELS`` from its own file in
``genzoo/models/``, and trained by a Lightning ``Trainer`` exactly as ``genzoo fit`` trains it.

Environment variables:
- ``GENZOO_LAB_FAST=1``: small-budget mode (a few batches per model), for CI. Pictures are then of
  untrained models and checks are reported but not enforced.
- ``GENZOO_LAB_CACHE``: where trained checkpoints are kept (default ``runs/labs`` in the repository).
  A model is trained once per (name, arguments, budget, seed); rerunning a lab loads it.
- ``GENZOO_LAB_RETRAIN=1``: ignore the cache and train again.
"""

from __future__ import annotations

import csv
import hashlib
import inspect
import json
import logging
import math
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg") if "ipykernel" not in sys.modules else None
import matplotlib.pyplot as plt  # noqa: E402
import pytorch_lightning  # noqa: E402, F401  (imported first: it sets its loggers' levels on import)
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]  # the repository
FAST = os.environ.get("GENZOO_LAB_FAST", "") not in ("", "0")
CACHE = Path(os.environ.get("GENZOO_LAB_CACHE", ROOT / "runs" / "labs"))
RETRAIN = os.environ.get("GENZOO_LAB_RETRAIN", "") not in ("", "0")
FAST_BATCHES = 3  # training batches per model in the small-budget mode
LOG_EVERY = 20  # training steps between two logged values of the losses (the curves' resolution)

KNOWN_NOISE = [  # (category, start of the message, module) of each warning the libraries give in the labs
    (FutureWarning, r"`isinstance\(treespec, LeafSpec\)` is deprecated", r"pytorch_lightning\."),  # under a newer torch
    # networks_moved trains one batch with no validation data, on purpose
    (UserWarning, r"You defined a `validation_step` but have no `val_dataloader`", r"pytorch_lightning\."),
    # a small face set has fewer batches per epoch than LOG_EVERY: the losses are still logged every LOG_EVERY steps
    (UserWarning, r"The number of training batches \(\d+\) is smaller than the logging interval",
     r"pytorch_lightning\."),
]

_START = time.perf_counter()
_RESULTS: list[tuple[str, str]] = []  # (exercise, PASS | FAIL | TODO)

# Quiet notebooks: the libraries' known warnings say nothing to a student (Lightning's banner lines are
# quieted by ``start``). Only those are silenced, each by its message, so that a student's own warnings show.
for _category, _message, _module in KNOWN_NOISE:
    warnings.filterwarnings("ignore", message=_message, category=_category, module=_module)
plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "axes.titlesize": 10, "figure.titlesize": 11})


def start(title: str) -> None:
    """First cell of every lab: quiet Lightning's banner lines, and say what mode the lab runs in.

    The loggers are set here, not on import, because they are the process's: a test that imports labkit (or
    checks) must not lose the messages other tests read."""
    global _START
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
        for sub in ("utilities.rank_zero", "accelerators.cuda", "trainer.connectors.signal_connector"):
            logging.getLogger(f"{name}.{sub}").setLevel(logging.ERROR)
    _START = time.perf_counter()
    torch.manual_seed(0)
    mode = f"FAST mode: {FAST_BATCHES} batches per model, pictures of untrained models" if FAST else "full mode"
    print(f"{title}: {mode}; torch {torch.__version__}, {torch.get_num_threads()} CPU thread(s)")


def finish() -> None:
    """Last cell: the time the lab took and the exercises' verdicts."""
    took = time.perf_counter() - _START
    verdicts = ", ".join(f"{name} {v}" for name, v in _RESULTS) or "none run"
    print(f"lab finished in {took:.0f} s ({'fast' if FAST else 'full'} mode); checks: {verdicts}")


# ----- data ---------------------------------------------------------------------------------------
_DATA: dict[str, object] = {}


def mnist(batch_size: int = 128):
    """The bundled MNIST as genzoo's datamodule (55,000 train, 5,000 val, 10,000 test), set up."""
    from genzoo.datamodules.mnist import MNISTDataModule

    key = f"mnist-{batch_size}"
    if key not in _DATA:
        dm = MNISTDataModule(batch_size=batch_size)
        dm.prepare_data()
        dm.setup("fit")
        dm.setup("test")
        _DATA[key] = dm
    return _DATA[key]


def celeba(size: int = 32, batch_size: int = 64):
    """CelebA's labelled images as genzoo's datamodule, set up, if CelebA is on this machine; else None.

    Looked for in ``GENZOO_CELEBA_ROOT``, then ``data/celeba`` (the datamodule's default), then the
    project's shared sample beside the repository (``../shared/data/celeba_sample``). Decoded images are
    cached under the lab cache, never beside the data."""
    from genzoo.datamodules.celeba import CelebADataModule

    shared_sample = ROOT.parent / "shared" / "data" / "celeba_sample"
    places = [os.environ.get("GENZOO_CELEBA_ROOT"), ROOT / "data" / "celeba", shared_sample]
    root = next((Path(p) for p in places if p and (Path(p) / "img_align_celeba").is_dir()), None)
    if root is None:
        return None
    key = f"celeba-{size}-{batch_size}"
    if key not in _DATA:
        dm = CelebADataModule(root=str(root), size=size, batch_size=batch_size, labelled_only=True,
                              cache_dir=str(CACHE / "celeba-images"))  # fmt: skip
        dm.prepare_data()
        dm.setup("fit")
        dm.lab_key = key  # what the checkpoint cache tells models trained on it apart by
        _DATA[key] = dm
    return _DATA[key]


def test_set(n: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(images float (N, 1, 28, 28) in [0, 1], labels (N,)) of MNIST's test split (the first n)."""
    from genzoo.viz import to_unit_float

    split = mnist().splits["test"]
    return to_unit_float(split.images[:n]), split.labels[:n]


def train_set(n: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    from genzoo.viz import to_unit_float

    split = mnist().splits["train"]
    return to_unit_float(split.images[:n]), split.labels[:n]


def first_of_each_digit(labels: torch.Tensor) -> torch.Tensor:
    """Indices of the first image of each digit 0-9."""
    return torch.stack([(labels == d).nonzero()[0, 0] for d in range(10)])


# ----- training -----------------------------------------------------------------------------------
def epoch_budget(epochs: float) -> tuple[int, float]:
    """``epochs`` (1.5: one and a half epochs' worth of batches) as (epochs to run, share of each epoch's
    batches): 1.5 is 2 epochs of 75% of the batches, so each epoch still sees freshly shuffled images."""
    whole = max(math.ceil(epochs), 1)
    return whole, epochs / whole


def cli_line(name: str, epochs: float, kwargs: dict) -> str:
    """The ``genzoo fit`` command that trains the same model."""
    def value(v):
        return v if isinstance(v, str) else json.dumps(v).replace(" ", "")

    flags = "".join(f" --model.{k} {value(v)}" for k, v in kwargs.items())
    whole, share = epoch_budget(epochs)
    budget = f" --trainer.max_epochs {whole}" + (f" --trainer.limit_train_batches {share:g}" if share < 1 else "")
    return f"genzoo fit --model {name}{flags}{budget} --seed_everything 0"


def train(name: str, epochs: float = 1, seed: int = 0, verbose: bool = True, data=None, **kwargs):
    """Build ``MODELS.get(name)(**kwargs)`` and train it on MNIST (or the datamodule ``data``) for ``epochs``
    epochs (a fraction: that many epochs' worth of batches, see ``epoch_budget``), as ``genzoo fit`` does;
    returns the model in eval mode.

    Checkpoints are cached in ``GENZOO_LAB_CACHE``, so a rerun of the lab loads instead of training.
    """
    import pytorch_lightning as pl
    from genzoo.models.loading import load_model
    from genzoo.registry import MODELS
    from pytorch_lightning.loggers import CSVLogger

    data_key = getattr(data, "lab_key", "mnist")
    key = json.dumps([name, kwargs, epochs, seed, FAST] + ([data_key] if data is not None else []), sort_keys=True)
    path = CACHE / f"{name}-{hashlib.sha1(key.encode()).hexdigest()[:10]}.ckpt"
    described = ", ".join(f"{k}={_brief(v)}" for k, v in kwargs.items()) or "defaults"
    metrics = path.with_suffix(".metrics.csv")  # the logged training losses, kept beside the checkpoint
    if path.is_file() and metrics.is_file() and not RETRAIN:
        if verbose:
            print(f"{name} ({described}): loaded from the cache ({path.name})")
        return _remember(load_model(path), name, metrics)
    pl.seed_everything(seed, verbose=False)
    shutil.rmtree(CACHE / "logs" / path.stem, ignore_errors=True)  # a retraining's log starts empty
    model = MODELS.get(name)(**kwargs)
    dm = data if data is not None else mnist()
    whole, fraction = epoch_budget(epochs)
    trainer = pl.Trainer(
        max_epochs=1 if FAST else whole,
        limit_train_batches=FAST_BATCHES if FAST else fraction,
        limit_val_batches=0,  # the labs evaluate on the test split themselves
        num_sanity_val_steps=0,
        logger=CSVLogger(str(CACHE / "logs"), name=path.stem, version=0),
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        default_root_dir=str(CACHE),
        log_every_n_steps=1 if FAST else LOG_EVERY,  # fast mode: every one of its few steps
    )
    began = time.perf_counter()
    trainer.fit(model, datamodule=dm)
    took = time.perf_counter() - began
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    trainer.save_checkpoint(tmp)
    trainer.logger.save()
    shutil.copyfile(Path(trainer.logger.log_dir) / "metrics.csv", metrics)
    tmp.replace(path)
    if verbose:
        batches = trainer.fit_loop.epoch_loop.total_batch_idx + 1
        print(f"{name} ({described}): trained on {batches} batches of {dm.batch_size} in {took:.1f} s")
        if not FAST and data is None:
            print(f"  the same run from a shell: {cli_line(name, epochs, kwargs)}")
    return _remember(model.eval(), name, metrics)


_TRAINED: dict[str, Path] = {}  # model name -> the metrics of the last one trained or loaded


def _remember(model, name: str, metrics: Path):
    model.lab_metrics = metrics
    _TRAINED[name] = metrics
    return model


def read_metrics(model_or_name) -> dict[str, tuple[list[int], list[float]]]:
    """The training losses a model logged (``log_train``): {name: (steps, values)}, from its metrics.csv."""
    path = _TRAINED[model_or_name] if isinstance(model_or_name, str) else model_or_name.lab_metrics
    series: dict[str, tuple[list[int], list[float]]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            for key, value in row.items():
                if key.startswith("train/") and value not in ("", None):
                    steps, values = series.setdefault(key.removeprefix("train/"), ([], []))
                    steps.append(int(row["step"]))
                    values.append(float(value))
    return series


def curves(model_or_name, title: str = "") -> None:
    """Plot a model's training curves from its logged metrics: the loss terms (log scale), and, for the
    adversarial models, the discriminators' accuracy (``d_acc``: 0.5 is a fooled discriminator) or the
    discriminator's mean logit on real and generated inputs (the ALAEs log those instead)."""
    series = read_metrics(model_or_name)
    accuracy = {k: v for k, v in series.items() if k.startswith("d_acc")}
    logits = {k: v for k, v in series.items() if k.endswith("_logit")}
    losses = {k: v for k, v in series.items() if k not in accuracy and k not in logits}
    panels = [p for p in (losses, accuracy, logits) if p]
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 3.4), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        for key, (steps, values) in panel.items():
            ax.plot(steps, values, ".-" if len(steps) < 30 else "-", label=key, lw=1.2)
        ax.set_xlabel("training step (batch)")
        ax.grid(alpha=0.3)
        if panel is losses:
            ax.set_yscale("log" if all(v > 0 for _, vs in panel.values() for v in vs) else "linear")
            ax.set_title("loss terms")
            ax.set_ylabel("loss")
        elif panel is accuracy:
            ax.axhline(0.5, color="k", ls="--", lw=1, label="0.5: fooled")
            ax.set_ylim(0, 1.02)
            ax.set_title("discriminator accuracy")
            ax.set_ylabel("share classified right")
        else:
            ax.axhline(0.0, color="k", ls="--", lw=1)
            ax.set_title("discriminator's mean logit")
            ax.set_ylabel("logit (> 0: called real)")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the data, not on it
    name = model_or_name if isinstance(model_or_name, str) else type(model_or_name).__name__
    fig.suptitle(title or f"{name}: training curves")
    plt.tight_layout()
    plt.show()


def _brief(value) -> str:
    """A value as the training line prints it: long lists (CelebA's 40 attribute names) by their length."""
    return f"[{len(value)} names]" if isinstance(value, list) and len(value) > 8 else str(value)


def source(obj, start: str | None = None, end: str | None = None) -> None:
    """Print the source of a function, class or module, or the lines from ``start`` up to ``end``, under
    the header ``# from PATH, lines A-B``; the build checks that the file still has these lines there."""
    obj = inspect.unwrap(obj)  # a decorated function (torch.no_grad) is shown, and located, as written
    lines, lineno = inspect.getsourcelines(obj)
    lines = [line.rstrip("\n") for line in lines]
    first, last = 0, len(lines)
    if start is not None:
        first = next(i for i, line in enumerate(lines) if start in line)
        last = next((i for i, line in enumerate(lines[first + 1 :], first + 1) if end and end in line), len(lines))
    while last > first and not lines[last - 1].strip():  # no trailing blank lines
        last -= 1
    top = max(lineno, 1) + first  # a module's lines start at 0 in inspect, at 1 in the file
    where = Path(inspect.getsourcefile(obj)).resolve().relative_to(ROOT)
    print(f"# from {where}, lines {top}-{top + last - first - 1}")
    print("\n".join(lines[first:last]))


def cite(name: str, value, fmt: str = "{}"):
    """Print ``value`` formatted with ``fmt`` as ``(cited as {{name}}: ...)``: the build puts it in place of
    ``{{name}}`` in the markdown cells below, so the prose quotes this run's output. Returns ``value``."""
    print(f"(cited as {{{{{name}}}}}: {fmt.format(value)})")
    return value


# ----- measuring ----------------------------------------------------------------------------------
@torch.no_grad()
def recon_mse(model, images: torch.Tensor, labels: torch.Tensor | None = None) -> float:
    """Mean squared error of the reconstructions (images in [0, 1]): genzoo's ``test/recon_mse``."""
    total = 0.0
    for s in range(0, len(images), 1000):
        x = images[s : s + 1000]
        y = labels[s : s + 1000] if labels is not None and getattr(model, "conditional", False) else None
        total += float(((model.reconstruct(x, y) - x) ** 2).sum())
    return total / images.numel()


@torch.no_grad()
def codes(model, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    return model.encode_all(images, labels)


_CLASSIFIER = []


@torch.no_grad()
def classify(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The shipped MNIST classifier (genzoo/metrics/features.py): (predicted digit (N,), confidence (N,))."""
    from genzoo.metrics.features import build_extractor, extract

    if not _CLASSIFIER:
        _CLASSIFIER.append(build_extractor("mnist_classifier"))
    _, logits = extract(_CLASSIFIER[0], images)
    probs = logits.softmax(1)
    conf, pred = probs.max(1)
    return pred, conf


_REAL_FEATURES: list = []


def _real_features() -> tuple[torch.Tensor, torch.Tensor]:
    """(features, k = 3 radii) of the 5,000 test digits that precision and recall compare against."""
    from genzoo.metrics.features import extract
    from genzoo.metrics.precision_recall import knn_radii

    classify(torch.zeros(1, 1, 28, 28))  # loads the classifier
    if not _REAL_FEATURES:
        real, _ = extract(_CLASSIFIER[0], test_set()[0][5000:])
        _REAL_FEATURES.extend([real, knn_radii(real, 3)])
    return _REAL_FEATURES[0], _REAL_FEATURES[1]


def precision(images: torch.Tensor) -> float:
    """Share of the images that look like real digits: genzoo's improved precision (genzoo/metrics/
    precision_recall.py, k = 3) against 5,000 test digits, in the shipped classifier's feature space.
    Other real test digits score well below 1 (a k = 3 ball around each of 5,000 points leaves gaps);
    blurry blends and noise score near 0. Lab 01 measures the real digits' own score."""
    from genzoo.metrics.features import extract
    from genzoo.metrics.precision_recall import inside_manifold

    real, radii = _real_features()
    fake, _ = extract(_CLASSIFIER[0], images)
    return inside_manifold(fake, real, radii).float().mean().item()


def recall(images: torch.Tensor) -> float:
    """Share of the 5,000 real test digits that the images cover: genzoo's improved recall (k = 3), each
    image's ball reaching to its 3rd nearest neighbour among the images. Precision's mirror: a model that
    draws few distinct shapes scores low however real they look. It grows with the number of images
    (more balls), so compare models on equally many."""
    from genzoo.metrics.features import extract
    from genzoo.metrics.precision_recall import inside_manifold, knn_radii

    real, _ = _real_features()
    fake, _ = extract(_CLASSIFIER[0], images)
    return inside_manifold(real, fake, knn_radii(fake, 3)).float().mean().item()


def coverage(images: torch.Tensor) -> dict:
    """genzoo's mode coverage (genzoo/metrics/coverage.py) of generated digits: histogram, entropy, confidence."""
    from genzoo.metrics.coverage import class_histogram_stats
    from genzoo.metrics.features import extract

    classify(images[:1])
    _, logits = extract(_CLASSIFIER[0], images)
    return class_histogram_stats(logits)


def networks_moved(model, images: torch.Tensor, labels: torch.Tensor, letters: dict[str, str]) -> list[set[str]]:
    """Train ``model`` on one batch and return, for every optimizer step of that batch in order, the
    networks whose weights the step changed (by the letters given for their attribute names, e.g.
    ``{"encoder": "E"}``). It watches the optimizers, so it reports what the code does, not what it says."""
    import pytorch_lightning as pl
    from torch.utils.data import DataLoader, TensorDataset

    nets = {letter: getattr(model, name) for name, letter in letters.items()}
    moved: list[set[str]] = []
    before: dict[str, list[torch.Tensor]] = {}

    def snapshot(optimizer, args, kwargs):
        before.update({k: [q.detach().clone() for q in net.parameters()] for k, net in nets.items()})

    def compare(optimizer, args, kwargs):
        moved.append({k for k, net in nets.items() if any(not torch.equal(old, new)
                                                          for old, new in zip(before[k], net.parameters()))})

    class Watch(pl.Callback):
        def on_train_start(self, trainer, module):
            for opt in trainer.optimizers:
                opt.register_step_pre_hook(snapshot)
                opt.register_step_post_hook(compare)

    trainer = pl.Trainer(max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", callbacks=[Watch()],
                         limit_val_batches=0, num_sanity_val_steps=0)  # fmt: skip
    trainer.fit(model, DataLoader(TensorDataset(images, labels), batch_size=len(images)))
    return moved


# ----- drawing ------------------------------------------------------------------------------------
def grid(images: torch.Tensor, nrow: int) -> torch.Tensor:
    from torchvision.utils import make_grid

    return make_grid(images.detach().float().cpu().clamp(0, 1), nrow=nrow, padding=1, pad_value=0.5)


def show(images: torch.Tensor, nrow: int = 8, title: str = "", ax=None, row_labels=None, col_labels=None,
         xlabel: str = "", ylabel: str = "", size: float = 0.45):  # fmt: skip
    """Draw images (N, C, H, W) in [0, 1] as a grid with a title; labels per row/column if given. Into
    ``ax`` (returned) when given, else into a figure of its own that is shown at once."""
    g = grid(images, nrow)
    n_rows = -(-len(images) // nrow)
    own = ax is None
    if own:
        _, ax = plt.subplots(figsize=(max(3.0, nrow * size + 1.0), max(1.6, n_rows * size + 0.7)))
    ax.imshow(g.permute(1, 2, 0).numpy(), cmap="gray", interpolation="nearest")
    ax.set_title(title)
    side = images.shape[-1] + 1
    if row_labels is not None:
        ax.set_yticks([side * (i + 0.5) for i in range(len(row_labels))], [str(r) for r in row_labels])
    else:
        ax.set_yticks([])
    if col_labels is not None:
        ax.set_xticks([side * (i + 0.5) for i in range(len(col_labels))], [str(c) for c in col_labels])
    else:
        ax.set_xticks([])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if own:  # drawn and shown here: return nothing, so the notebook prints no "<Axes ...>" line
        plt.tight_layout()
        plt.show()
        return None
    return ax


def scatter(ax, z: torch.Tensor, labels: torch.Tensor, title: str, background: torch.Tensor | None = None,
            background_label: str = "prior samples", s: float = 2.0, over: bool = False):  # fmt: skip
    """2-D codes coloured by digit over grey background points (e.g. prior samples); ``over``: the
    background in black on top of the codes instead."""
    if background is not None and not over:
        ax.scatter(background[:, 0], background[:, 1], s=1, c="0.75", label=background_label, rasterized=True)
    for d in range(10):
        pts = z[labels == d]
        ax.scatter(pts[:, 0], pts[:, 1], s=s, color=f"C{d}", label=str(d), rasterized=True)
    if background is not None and over:
        ax.scatter(background[:, 0], background[:, 1], s=1, c="k", alpha=0.5, label=background_label, rasterized=True)
    ax.set_title(title)
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    ax.legend(markerscale=4, fontsize=7, loc="upper right", framealpha=0.8, ncol=2)
    return ax


def sharpness(images: torch.Tensor) -> float:
    """Mean variance of the Laplacian of each image: the classic blur measure (low = blurry)."""
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])[None, None]
    lap = torch.nn.functional.conv2d(images.float().cpu(), kernel)
    return float(lap.flatten(1).var(1).mean())


@torch.no_grad()
def plane_and_scatter(model, z: torch.Tensor, labels: torch.Tensor, title: str, box: str = "codes",
                      background: torch.Tensor | None = None, background_label: str = "prior samples",
                      over: bool = False):  # fmt: skip
    """2-D codes: the images decoded on a 20 x 20 grid (left) beside the codes coloured by label (right).

    ``box``: the square the grid covers: the central 98% of the codes ``z`` ("codes"), or of the model's
    prior (``genzoo.latent.ops.prior_box``, "prior"). Both panels share the axes z[0], z[1].
    """
    from genzoo.latent import ops
    from genzoo.viz import latent_grid

    low, high = (z.quantile(0.01, 0), z.quantile(0.99, 0)) if box == "codes" else ops.prior_box(model)
    plane = model.decode(latent_grid(low, high, 20).to(model.device))
    extent = (float(low[0]), float(high[0]), float(low[1]), float(high[1]))
    fig, (ax_p, ax_s) = plt.subplots(1, 2, figsize=(11, 5))
    ax_p.imshow(grid(plane, 20).permute(1, 2, 0).numpy(), extent=extent, aspect="auto")
    whose = "codes'" if box == "codes" else "prior's"
    ax_p.set_title(f"images decoded on a 20 x 20 grid over the {whose} central 98%")
    scatter(ax_s, z, labels, "test codes by digit", background=background, background_label=background_label, over=over)
    ax_s.set_xlim(extent[0], extent[1])
    ax_s.set_ylim(extent[2], extent[3])
    for a in (ax_p, ax_s):
        a.set_xlabel("z[0]")
        a.set_ylabel("z[1]")
    fig.suptitle(title)
    plt.tight_layout()
    plt.show()


# ----- exercises ----------------------------------------------------------------------------------
def check(exercise: str, ok: bool, why: str) -> bool:
    """Print the verdict of an exercise's check: PASS or FAIL, and why."""
    verdict = "PASS" if ok else "FAIL"
    _RESULTS.append((exercise, verdict))
    note = " (fast mode: models barely trained, the verdict is not enforced)" if FAST else ""
    print(f"{verdict} [{exercise}]{note}: {why}")
    return ok


def todo(exercise: str, what: str) -> None:
    """The exercise is not attempted yet (its answer is still None)."""
    _RESULTS.append((exercise, "TODO"))
    print(f"TODO [{exercise}]: {what}")
