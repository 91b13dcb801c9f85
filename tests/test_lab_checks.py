"""Every exercise of every lab, judged without training: an untouched answer is TODO, a plausible wrong answer
is FAIL, and the lab's own solution is PASS.

The judges are ``docs/labs/checks.py`` (``check_NN_exK``); the untouched answer and the solution are taken
from the lab's source itself (its cells tagged ``exercise`` and ``solution``), so the test follows the labs.
Each lab adds its rows to ``CASES``: the name its answer cells define, the judge's context (small tensors or
an untrained tiny model; nothing here reads MNIST or trains), a wrong answer, and the notebook names its
solution cell reads.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch

jupytext = pytest.importorskip("jupytext")  # the genzoo[labs] extra

LABS = Path(__file__).resolve().parents[1] / "docs" / "labs"
sys.path.insert(0, str(LABS))
import checks  # noqa: E402  (docs/labs is not a package)
import labkit as lk  # noqa: E402

plt = pytest.importorskip("matplotlib.pyplot")


@dataclass(frozen=True)
class Case:
    lab: str  # "01": the source docs/labs/src/01_*.py, the judge checks.check_01_<exercise>
    exercise: str  # "ex1"
    answer: str  # the name the exercise and solution cells define
    context: Callable[[], dict]  # the judge's keyword arguments
    wrong: Callable[[dict], object]  # a plausible wrong answer, given the context
    names: dict[str, str] = field(default_factory=dict)  # notebook name the solution reads -> context key

    def __str__(self) -> str:
        return f"{self.lab}-{self.exercise}"


CASES: list[Case] = []


def cell_answer(case: Case, tag: str, context: dict):
    """Run the lab's cell tagged ``tag`` that defines ``case.answer`` and return what it defines."""
    [source] = sorted((LABS / "src").glob(f"{case.lab}_*.py"))
    defines = re.compile(rf"^(def {case.answer}\(|{case.answer}\s*=)", re.M)
    cells = [c.source for c in jupytext.read(source).cells if tag in c.metadata.get("tags", [])]
    [code] = [c for c in cells if defines.search(c)]
    import genzoo.priors as priors

    namespace = {"torch": torch, "lk": lk, "math": math, "priors": priors, "checks": checks}
    namespace |= {name: context[key] for name, key in case.names.items()}
    exec(compile(code, f"{source.name} ({tag})", "exec"), namespace)
    return namespace[case.answer]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ----- lab 01 --------------------------------------------------------------------------------------
def tiny(name: str, **kwargs):
    """An untrained small model of the zoo, seeded, in eval mode."""
    from genzoo.registry import MODELS

    torch.manual_seed(0)
    return MODELS.get(name)(hidden_dims=[32], **kwargs).eval()


def ring(n: int = 600) -> torch.Tensor:
    """2-D codes on a ring of radius 4 to 5 around (1, 1): its centre is a hole, its box's corners are not."""
    g = torch.Generator().manual_seed(0)
    angle, radius = 2 * math.pi * torch.rand(n, generator=g), 4 + torch.rand(n, generator=g)
    return torch.stack([radius * angle.cos(), radius * angle.sin()], 1) + 1


def correlated_codes() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    mix = torch.tensor([[2.0, 0.0, 0.0], [1.5, 1.0, 0.0], [-0.5, 0.3, 0.5]])
    return torch.randn(3000, 3, generator=g) @ mix.T + torch.tensor([3.0, -1.0, 0.5])


def ae_context() -> dict:
    return {
        "model": tiny("ae", latent_dim=4),
        "images": torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(0)),
    }


@torch.no_grad()
def summed_errors(model, images):  # the sum over pixels, not the mean
    return ((model.decode(model.encode(images)) - images) ** 2).flatten(1).sum(1)


def diagonal_sampler(z, n, generator):  # ignores the correlations
    return z.mean(0) + z.std(0) * torch.randn(n, z.shape[1], generator=generator)


CASES += [
    Case("01", "ex1", "my_recon_errors", ae_context, lambda c: summed_errors),
    Case("01", "ex2", "code_sampler", lambda: {"codes": correlated_codes()}, lambda c: diagonal_sampler),
    Case("01", "ex3", "hole", lambda: {"codes": ring()}, lambda c: c["codes"].quantile(0.01, 0), {"z2": "codes"}),
]


# ----- lab 02 --------------------------------------------------------------------------------------
def posteriors() -> dict:
    """Posteriors of 4 images in 4 dimensions: one dimension unused (N(0, 1) for every image), one that
    carries nothing in its mean but is narrow (its KL is log-variance alone), two ordinary ones."""
    g = torch.Generator().manual_seed(0)
    mu = torch.stack([torch.zeros(4), torch.zeros(4), torch.randn(4, generator=g), 2 + torch.randn(4, generator=g)], 1)
    logvar = torch.stack([torch.zeros(4), torch.full((4,), -2.0), torch.full((4,), -1.0), torch.zeros(4)], 1)
    return {"a": (mu, logvar), "b": (mu[:, :1], logvar[:, :1])}


CASES += [
    Case("02", "ex1", "reparameterise", dict, lambda c: lambda mu, logvar, eps: mu + logvar.exp() * eps),
    Case(
        "02",
        "ex2",
        "kl_monte_carlo",
        lambda: {"mu": torch.randn(64, 16) * 0.8, "logvar": torch.randn(64, 16) * 0.3 - 1.0},
        lambda c: lambda mu, logvar, n=2000: 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).mean(),
    ),  # fmt: skip
    Case(
        "02",
        "ex3",
        "active_dims",
        lambda: {"posteriors": posteriors()},
        lambda c: lambda mu, logvar, threshold=0.01: int(((0.5 * mu.pow(2)).mean(0) > threshold).sum()),
    ),  # fmt: skip
]


# ----- lab 03 --------------------------------------------------------------------------------------
def cvae_context() -> dict:
    g = torch.Generator().manual_seed(0)
    return {"model": tiny("cvae", latent_dim=4), "z": torch.randn(8, 4, generator=g), "y": torch.arange(8) % 10}


def cvae_images() -> dict:
    g = torch.Generator().manual_seed(0)
    return {"model": tiny("cvae", latent_dim=4), "x": torch.rand(8, 1, 28, 28, generator=g), "y": torch.arange(8)}


@torch.no_grad()
def restyle_with_target(model, x, y, digit):  # reads the code with the label asked for, not the image's own
    target = torch.full((len(x),), digit)
    return model.decode(model.encode(x, target), target)


def cut_decoder_only(model):
    import copy

    cut = copy.deepcopy(model)
    with torch.no_grad():
        next(m for m in cut.decoder.modules() if isinstance(m, torch.nn.Linear)).weight[:, model.latent_dim :] = 0
    return cut


CASES += [
    Case(
        "03",
        "ex1",
        "decoder_input",
        cvae_context,
        lambda c: lambda z, y, k: torch.cat([torch.nn.functional.one_hot(y, k).float(), z], 1),
    ),  # fmt: skip
    Case("03", "ex2", "restyle", cvae_images, lambda c: restyle_with_target),
    Case("03", "ex3", "without_label", cvae_images, lambda c: cut_decoder_only),
]


# ----- lab 04 --------------------------------------------------------------------------------------
def knn_codes() -> dict:
    g = torch.Generator().manual_seed(0)
    y_tr, y_te = torch.arange(300) % 3, torch.arange(90) % 3
    centres = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    z_tr, z_te = centres[y_tr] + torch.randn(300, 2, generator=g), centres[y_te] + torch.randn(90, 2, generator=g)
    return {"codes": {"clustered": (z_tr, y_tr, z_te, y_te)}}


def farthest_vote(z_train, y_train, z_test, y_test, k=5):  # topk's default: the k largest distances
    nearest = torch.cdist(z_test, z_train).topk(k).indices
    return float((y_train[nearest].mode(1).values == y_test).float().mean())


CASES += [
    Case(
        "04",
        "ex1",
        "digit_codes",
        lambda: {"scale": 5.0},
        lambda c: lambda digit, n, generator=None: priors_mixture(n, generator),
    ),  # fmt: skip
    Case("04", "ex2", "knn_accuracy", knn_codes, lambda c: farthest_vote),
]


def priors_mixture(n: int, generator) -> torch.Tensor:  # the whole flower: the digit's petal is ignored
    from genzoo.priors import sample_prior

    return sample_prior("mixture", n, 2, 5.0, generator)


# ----- lab 05 --------------------------------------------------------------------------------------
def readings() -> dict:
    return {"mixed": torch.randint(0, 10, (300,), generator=torch.Generator().manual_seed(0)),
            "collapsed": torch.full((50,), 7)}  # fmt: skip


def entropy_in_nats(digits):  # forgets to divide by log 10
    p = torch.bincount(digits, minlength=10).double() / len(digits)
    p = p[p > 0]
    return float(-(p * p.log()).sum())


def aegan_context() -> dict:
    return {"model": tiny("aegan", latent_dim=4), "z": torch.randn(50, 4, generator=torch.Generator().manual_seed(0))}


@torch.no_grad()
def cycle_per_unit_variance(model, z):  # divides by the variance of one code, not of a difference
    return float(((model.encode(model.decode(z)) - z) ** 2).mean())


def real_pool() -> dict:
    g = torch.Generator().manual_seed(0)
    return {"images": torch.rand(300, 1, 28, 28, generator=g), "labels": torch.arange(300) % 10}


CASES += [
    Case("05", "ex1", "class_entropy", lambda: {"readings": readings()}, lambda c: entropy_in_nats),
    Case("05", "ex2", "cycle_vs_random", aegan_context, lambda c: cycle_per_unit_variance),
    Case(
        "05",
        "ex3",
        "pick",
        real_pool,  # random real digits: every class, and most of the pool covered
        lambda c: lambda labels: torch.randint(0, len(labels), (2000,), generator=torch.Generator().manual_seed(1)),
    ),
]


# ----- lab 06 --------------------------------------------------------------------------------------
def alae_context() -> dict:
    g = torch.Generator().manual_seed(0)
    return {"model": tiny("alae"), "images": torch.rand(40, 1, 28, 28, generator=g), "labels": torch.arange(40) % 10}


def alae_pairs() -> dict:
    g = torch.Generator().manual_seed(0)
    return {
        "model": tiny("alae"),
        "a": torch.rand(6, 1, 28, 28, generator=g),
        "b": torch.rand(6, 1, 28, 28, generator=g),
    }


@torch.no_grad()
def confidence_per_digit(model, images, labels):  # the classifier's confidence, not whether it reads the digit
    _, confidence = lk_classify(model.reconstruct(images))
    return torch.stack([confidence[labels == d].mean() for d in range(10)])


def lk_classify(images):
    return lk.classify(images)


CASES += [
    Case(
        "06",
        "ex1",
        "updates",
        lambda: {"moved": [{"D", "E"}, {"F", "G"}, {"E"}, {"G"}]},
        lambda c: {"I": {"E", "D"}, "II": {"F", "G"}, "III": {"F", "E", "G"}},
    ),  # F trained by the LAE too
    Case("06", "ex2", "digit_kept", alae_context, lambda c: confidence_per_digit),
    Case("06", "ex3", "midpoints", alae_pairs, lambda c: lambda model, a, b: (a + b) / 2),
]


# ----- lab 07 --------------------------------------------------------------------------------------
def adain_context() -> dict:
    from genzoo.nn.style import AdaIN

    torch.manual_seed(0)
    return {"layer": AdaIN(4, 6), "w": torch.randn(8, 6)}


def adain_unbiased(x, style):  # the variance with Bessel's correction: not instance norm's
    scale, shift = style[:, :, None, None].chunk(2, dim=1)
    return (x - x.mean((2, 3), keepdim=True)) / (x.var((2, 3), keepdim=True) + 1e-5).sqrt() * (1 + scale) + shift


CASES += [
    Case("07", "ex1", "adain", adain_context, lambda c: adain_unbiased),
    Case(
        "07",
        "ex2",
        "prediction",
        lambda: {"share_a": 0.7, "share_b": 0.05, "changed": {"coarse": 0.85, "fine": 0.35}},
        lambda c: {"level": "fine", "share_a": 0.65},
        {"changed": "changed"},
    ),  # the share right, the reason not
]


# ----- the test ------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=str)
def test_untouched_wrong_and_solution(case: Case, capsys):
    judge = getattr(checks, f"check_{case.lab}_{case.exercise}")
    context = case.context()
    assert judge(cell_answer(case, "exercise", context), **context) == checks.TODO
    assert judge(case.wrong(context), **context) == checks.FAIL, capsys.readouterr().out
    assert judge(cell_answer(case, "solution", context), **context) == checks.PASS, capsys.readouterr().out


def test_every_judge_has_a_row():
    judges = {name for name in dir(checks) if re.fullmatch(r"check_\d\d_ex\d", name)}
    assert judges == {f"check_{c.lab}_{c.exercise}" for c in CASES}
