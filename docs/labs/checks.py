"""The judges of the labs' exercises: one function per exercise, ``check_NN_exK(answer, **context)``.

A lab's check cell only calls its judge with the student's answer and the small context the judge needs
(tensors, a model), so the notebook shows no reference answer, and tests/test_lab_checks.py can run every
judge on an untouched answer (``TODO``), a plausible wrong one (``FAIL``) and the lab's own solution
(``PASS``) with tiny contexts, without training anything.

Every judge returns its verdict, ``"PASS"``, ``"FAIL"`` or ``"TODO"``, after printing it with
``labkit.check`` or ``labkit.todo``. A judge decides from properties of the answer measured on its
context (never from how well a model happens to be trained), so the verdict of a solution is the same
on any machine; what depends on training (how digit-like the samples are) is printed beside it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch

import labkit as lk

PASS, FAIL, TODO = "PASS", "FAIL", "TODO"


def judge(exercise: str):
    """Decorate a judge: a student's answer that raises is a FAIL that names the error, not a cell error."""

    def wrap(fn: Callable[..., str]) -> Callable[..., str]:
        @functools.wraps(fn)
        def run(answer, **context) -> str:
            if answer is None:
                return todo(exercise, "the answer is still None")
            try:
                return fn(answer, **context)
            except NotAnswered:
                return todo(exercise, "your function returns None")
            except Exception as err:  # the student's code failed: say how, as a verdict
                return verdict(exercise, False, f"your answer raised {type(err).__name__}: {err}")

        return run

    return wrap


class NotAnswered(Exception):
    """A student's function returned None: the exercise is not attempted yet."""


def given(value):
    """What a student's function returned, or NotAnswered if it is still None."""
    if value is None:
        raise NotAnswered
    return value


def verdict(exercise: str, ok: bool, why: str) -> str:
    lk.check(exercise, bool(ok), why)
    return PASS if ok else FAIL


def todo(exercise: str, what: str) -> str:
    lk.todo(exercise, what)
    return TODO


def _tensor(value, what: str) -> torch.Tensor:
    """A student's array-like answer as a float tensor (a clear error if it is not one)."""
    try:
        return torch.as_tensor(value, dtype=torch.float32)
    except Exception as err:
        raise TypeError(f"{what} is not a tensor of numbers ({type(value).__name__})") from err


# ----- lab 05: GAN against AEGAN -------------------------------------------------------------------
def normalised_entropy(digits: torch.Tensor, classes: int = 10) -> float:
    """Entropy of the histogram of ``digits`` (ints) divided by log ``classes``: genzoo's class entropy."""
    p = torch.bincount(digits.long(), minlength=classes).double() / len(digits)
    p = p[p > 0]
    return max(0.0, float(-(p * p.log()).sum()) / math.log(classes))


@judge("ex1")
def check_05_ex1(class_entropy, readings: dict) -> str:
    """Class entropy from the digits read: the models' readings {name: digits}, and three histograms
    whose answer is known (one digit only: 0; all ten equally: 1; two digits equally: log 2 / log 10,
    with eight digits never drawn, where 0 log 0 must count as 0)."""
    known = {
        "one digit": torch.full((100,), 3),
        "all ten": torch.arange(1000) % 10,
        "two digits": torch.arange(100) % 2,
    }
    lines, ok = [], True
    for name, digits in {**readings, **known}.items():
        mine = float(given(class_entropy(digits)))
        right = abs(mine - normalised_entropy(digits)) <= 1e-4
        ok &= right
        lines.append(f"{name} {mine:.3f}" + ("" if right else " (wrong)"))
    return verdict("ex1", ok, "your class entropy: " + ", ".join(lines))


@judge("ex2")
@torch.no_grad()
def check_05_ex2(cycle_vs_random, model, z: torch.Tensor) -> str:
    """E(G(z)) against z, as a share of the expected squared difference of two independent N(0, I) codes
    per coordinate (2, derived: a difference of two independent N(0, 1) has variance 2)."""
    mine = float(given(cycle_vs_random(model, z)))
    error = float(((model.encode(model.decode(z)) - z) ** 2).mean())
    ok = abs(mine - error / 2.0) <= 1e-3 * max(error / 2.0, 1e-6)
    measured = float(((z - z.roll(1, 0)) ** 2).mean())  # what a measurement of the derived number gives
    return verdict("ex2", ok, f"yours {mine:.4f}: E(G(z)) is that share of the way to an unrelated code"
                   + ("" if ok else f" (the squared distance of two random codes, measured on these: {measured:.3f};"
                      " derive its expectation)"))  # fmt: skip


@judge("ex3")
@torch.no_grad()
def check_05_ex3(pick, images: torch.Tensor, labels: torch.Tensor) -> str:
    """Indices into the real ``images``: a "sample set" with class entropy >= 0.95 (from the labels) and
    recall <= 0.1 against all of ``images`` (k = 3, in the shipped classifier's feature space)."""
    from genzoo.metrics.features import extract
    from genzoo.metrics.precision_recall import inside_manifold, knn_radii

    chosen = torch.as_tensor(given(pick(labels))).long().reshape(-1)
    if len(chosen) != 2000 or int(chosen.min()) < 0 or int(chosen.max()) >= len(images):
        return verdict("ex3", False, f"{len(chosen)} indices; needs 2,000, each from 0 to {len(images) - 1}")
    lk.classify(images[:1])  # loads the classifier
    real, _ = extract(lk._CLASSIFIER[0], images)
    fake = real[chosen]
    covered = float(inside_manifold(real, fake, knn_radii(fake, 3)).float().mean())
    entropy = normalised_entropy(labels[chosen])
    ok = entropy >= 0.95 and covered <= 0.1
    return verdict("ex3", ok, f"class entropy {entropy:.2f} (needs >= 0.95), recall {covered:.3f} (needs <= 0.1)")


# ----- lab 06: the ALAE ----------------------------------------------------------------------------
@judge("ex1")
def check_06_ex1(updates: dict, moved: list) -> str:
    """The networks each update changes, against what one batch's optimizer steps moved (``moved``: the
    sets of letters of each step; update III steps two optimizers, E's and G's). A wrong update is named,
    the code's answer is not given away."""
    seen = {"I": set(moved[0]), "II": set(moved[1]), "III": set(moved[2]) | set(moved[3])}
    if any(updates.get(k) is None for k in seen):
        return todo("ex1", "fill in every update's set of networks")
    wrong = [k for k, v in seen.items() if {str(n).upper() for n in updates[k]} != v]
    return verdict("ex1", not wrong, "every update moves the networks you named" if not wrong else
                   f"update(s) {', '.join(wrong)}: not the networks the optimizers moved")  # fmt: skip


@judge("ex2")
@torch.no_grad()
def check_06_ex2(digit_kept, model, images: torch.Tensor, labels: torch.Tensor) -> str:
    """Per digit 0-9, the share of the reconstructions that the classifier reads as the true digit."""
    mine = _tensor(given(digit_kept(model, images, labels)), "digit_kept(...)").reshape(-1)
    read, _ = lk.classify(model.reconstruct(images))
    truth = torch.stack([(read[labels == d] == d).float().mean() for d in range(10)])
    if mine.shape != (10,):
        return verdict("ex2", False, f"{mine.numel()} numbers; needs one share per digit 0-9")
    ok = torch.allclose(mine, truth, atol=1e-6)
    worst = int(truth.argmin())
    return verdict("ex2", ok, f"your shares {' '.join(f'{v:.2f}' for v in mine.tolist())}"
                   + (f"; the digit the ALAE keeps least often: {worst}" if ok else " (not what the classifier "
                      "reads in model.reconstruct(images), digit by digit)"))  # fmt: skip


@judge("ex3")
@torch.no_grad()
def check_06_ex3(midpoints, model, a: torch.Tensor, b: torch.Tensor) -> str:
    """The images decoded halfway between the codes of a and b; their precision beside the pixel averages'."""
    mine = _tensor(given(midpoints(model, a, b)), "midpoints(...)")
    truth = model.decode((model.encode(a) + model.encode(b)) / 2)
    if mine.shape != truth.shape:
        return verdict("ex3", False, f"shape {tuple(mine.shape)}, needs {tuple(truth.shape)}")
    err = float((mine - truth).abs().max())
    return verdict("ex3", err < 1e-4, f"largest difference from the decoded midpoints of the codes: {err:.2g} "
                   "(needs < 1e-4)")  # fmt: skip


# ----- lab 07: StyleALAE ---------------------------------------------------------------------------
@judge("ex1")
@torch.no_grad()
def check_07_ex1(adain, layer, w: torch.Tensor) -> str:
    """AdaIN by hand against genzoo's layer ``layer`` (nn/style.py's AdaIN), on feature maps far from
    mean 0 and spread 1, so that a missing normalisation shows."""
    g = torch.Generator().manual_seed(4)
    x = torch.randn(len(w), layer.style.out_features // 2, 7, 7, generator=g) * 3 + 1
    mine = _tensor(given(adain(x, layer.style(w))), "adain(...)")
    if mine.shape != x.shape:
        return verdict("ex1", False, f"shape {tuple(mine.shape)}, needs {tuple(x.shape)}, the input's")
    err = float((mine - layer(x, w)).abs().max())
    return verdict("ex1", err < 1e-4, f"largest difference from genzoo's AdaIN: {err:.2g} (needs under 1e-4)")


LEVELS = ("coarse", "fine")


@judge("ex2")
def check_07_ex2(prediction: dict, share_a: float, share_b: float, changed: dict) -> str:
    """A prediction made before the mixes are measured: the level that decides the digit (checked against
    section 3's measurement ``changed`` {level: share of digits changed when that level is redrawn}) and the
    share of mixes read as a's digit (within 0.2 of the measured ``share_a``). The measured shares are shown
    only with a PASS: a FAIL says which part is off and which way."""
    level, guess = prediction.get("level"), prediction.get("share_a")
    if level is None or guess is None:
        return todo("ex2", "fill in both parts of the prediction")
    if level not in LEVELS or not 0 <= float(guess) <= 1:
        return verdict("ex2", False, f"level must be one of {LEVELS} and share_a a number in [0, 1]")
    decides = max(LEVELS, key=lambda k: changed[k])
    off = float(guess) - share_a
    problems = ([] if level == decides else [f"section 3 says the {decides} level decides the digit"]) + (
        [] if abs(off) <= 0.2 else [f"your share {float(guess):.0%} is too {'high' if off > 0 else 'low'} by more "
                                    "than 20 points"])  # fmt: skip
    return verdict("ex2", not problems, "; ".join(problems) or f"the mixes read as a's digit {share_a:.0%}, "
                   f"as b's {share_b:.0%}; you predicted {float(guess):.0%} for a's")  # fmt: skip
