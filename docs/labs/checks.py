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


# ----- lab 01: the autoencoder ---------------------------------------------------------------------
@judge("ex1")
@torch.no_grad()
def check_01_ex1(my_recon_errors, model, images: torch.Tensor) -> str:
    """Per-image reconstruction errors: each image's MSE over its pixels, against the model's own."""
    mine = _tensor(given(my_recon_errors(model, images)), "my_recon_errors(...)").reshape(-1)
    truth = ((model.reconstruct(images) - images) ** 2).flatten(1).mean(1)
    if mine.shape != truth.shape:
        return verdict("ex1", False, f"{len(mine)} numbers for {len(images)} images: one error per image")
    ok = torch.allclose(mine, truth, rtol=1e-4, atol=1e-7)
    worst = int((mine - truth).abs().argmax())
    return verdict("ex1", ok, f"mean of your errors {float(mine.mean()):.5f}, genzoo's test/recon_mse "
                   f"{lk.recon_mse(model, images):.5f}; image {worst}: yours {float(mine[worst]):.5f}, "
                   f"the model's {float(truth[worst]):.5f}" + ("" if ok else " (a mean over the pixels of each "
                   "image, in [0, 1]: decode applies the sigmoid)"))  # fmt: skip


@judge("ex2")
def check_01_ex2(code_sampler, codes: torch.Tensor) -> str:
    """New codes from the Gaussian with the codes' mean and full covariance: the draws' mean, spread and
    correlations must be the codes' (20,000 draws: a margin of 5x the Monte Carlo error), and the draws
    must be new points, not codes drawn again."""
    n = 20000
    draws = _tensor(given(code_sampler(codes, n, torch.Generator().manual_seed(1))), "code_sampler(...)")
    if draws.shape != (n, codes.shape[1]):
        return verdict("ex2", False, f"shape {tuple(draws.shape)}, needs ({n}, {codes.shape[1]})")
    std = codes.std(0)
    mean_off = float(((draws.mean(0) - codes.mean(0)).abs() / std).max())  # in units of each dimension's std
    std_off = float((draws.std(0) / std - 1).abs().max())
    corr_off = float((torch.corrcoef(draws.T) - torch.corrcoef(codes.T)).abs().max())
    nearest = torch.cdist(draws[:1000], codes).min(1).values
    copies = float((nearest < 1e-4 * float(std.mean())).float().mean())
    ok = mean_off <= 0.05 and std_off <= 0.05 and corr_off <= 0.05 and copies <= 0.01
    return verdict("ex2", ok, f"largest differences from the codes: mean {mean_off:.3f} std (needs <= 0.05), "
                   f"std {std_off:.1%} (needs <= 5%), correlation {corr_off:.3f} (needs <= 0.05); "
                   f"{copies:.0%} of the draws are codes drawn again (needs none)")  # fmt: skip


def enclosure(points: torch.Tensor, codes: torch.Tensor, sectors: int = 8,
              reach: float = 1.5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """How much of a hole each of ``points`` (M, 2) is among 2-D ``codes`` (N, 2), as three tensors (M,):
    the distance to the nearest code, that distance over the codes' spread, and how many of ``sectors``
    directions around the point hold at least 0.5% of the codes within ``reach`` spreads. The spread is
    the median distance of the codes from their median: a scale that a few far codes do not move."""
    spread = float((codes - codes.median(0).values).norm(dim=1).median())
    nearest, filled = [], []
    for chunk in points.reshape(-1, 2).split(256):  # (256, N) distances at a time
        offsets = codes[None] - chunk[:, None]  # (M, N, 2)
        distance = offsets.norm(dim=2)
        sector = ((torch.atan2(offsets[..., 1], offsets[..., 0]) + math.pi) / (2 * math.pi) * sectors).long()
        within = distance <= reach * spread
        counts = torch.stack([(within & (sector % sectors == k)).sum(1) for k in range(sectors)], 1)
        nearest.append(distance.min(1).values)
        filled.append((counts >= 0.005 * len(codes)).sum(1))
    nearest_all = torch.cat(nearest)
    return nearest_all, nearest_all / spread, torch.cat(filled)


@judge("ex3")
def check_01_ex3(hole, codes: torch.Tensor) -> str:
    """A hole: far from every code (at least 15% of the codes' spread: the best holes of the lab's 2-D AE are
    twice that) and yet among them (codes in all 8 directions around it, within 1.5 spreads), so that a
    corner of the plot's box, empty but outside the codes, is no hole."""
    h = _tensor(hole, "hole").reshape(-1)
    if h.numel() != 2:
        return verdict("ex3", False, f"hole has {h.numel()} numbers; a 2-D code has 2")
    distance, relative, filled = (float(t) for t in enclosure(h, codes))
    ok = relative >= 0.15 and filled == 8
    where = ", ".join(f"{float(v):.2f}" for v in h)
    return verdict("ex3", ok, f"({where}): nearest code {distance:.2f} away, {relative:.2f} of the codes' "
                   f"spread (needs >= 0.15); codes around it in {filled:.0f} of 8 directions (needs 8: a hole is "
                   f"surrounded by codes)")  # fmt: skip


# ----- lab 02: the VAE -----------------------------------------------------------------------------
@judge("ex1")
def check_02_ex1(reparameterise) -> str:
    """z = mu + sigma * eps from the given eps (sigma = exp(logvar / 2)), with gradients reaching both."""
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(4000, 3, generator=g).requires_grad_()
    logvar = torch.randn(4000, 3, generator=g).requires_grad_()
    eps = torch.randn(4000, 3, generator=g)
    z = given(reparameterise(mu, logvar, eps))
    if not isinstance(z, torch.Tensor) or z.shape != mu.shape:
        return verdict("ex1", False, f"needs a tensor of shape {tuple(mu.shape)}, like mu")
    same = torch.allclose(z, mu + (0.5 * logvar).exp() * eps, atol=1e-5)
    z.sum().backward()  # d z / d mu = 1 and d z / d logvar = sigma * eps / 2, if z is built from them
    grads = mu.grad is not None and logvar.grad is not None and bool(logvar.grad.abs().sum() > 0)
    return verdict("ex1", same and grads, f"z is the sample of N(mu, exp(logvar)) made from eps: {same}; "
                   f"gradients reach mu and logvar: {grads}")  # fmt: skip


@judge("ex2")
def check_02_ex2(kl_monte_carlo, mu: torch.Tensor, logvar: torch.Tensor) -> str:
    """A Monte Carlo estimate of KL(q || N(0, I)) within 2% of the closed form (its own error: about 0.1%)."""
    from genzoo.losses import kl_to_standard_normal

    torch.manual_seed(0)  # the student's sampling: the same draws on every run
    estimate = float(given(kl_monte_carlo(mu, logvar)))
    exact = float(kl_to_standard_normal(mu, logvar))
    ok = abs(estimate - exact) <= 0.02 * abs(exact)
    return verdict("ex2", ok, f"your estimate {estimate:.3f} nats per image, the closed form {exact:.3f} "
                   f"(needs to be within 2%)")  # fmt: skip


def kl_per_dimension(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z_j|x) || N(0, 1)) of each code dimension j, averaged over the rows: (D,) nats."""
    return (0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)).mean(0)


@judge("ex3")
@torch.no_grad()
def check_02_ex3(active_dims, posteriors: dict) -> str:
    """The number of code dimensions whose KL, averaged over the images, is above 0.01 nats, for each
    model's posteriors {name: (mu, logvar)}. Dimensions within a factor 2 of the threshold may be
    counted either way, so a rounding difference never decides the verdict."""
    lines, ok = [], True
    for name, (mu, logvar) in posteriors.items():
        mine = given(active_dims(mu, logvar))
        kl = kl_per_dimension(mu, logvar)
        low, high = int((kl > 0.02).sum()), int((kl > 0.005).sum())
        right = isinstance(mine, int | float | torch.Tensor) and low <= float(mine) <= high
        ok &= right
        lines.append(f"{name}: {float(mine):g}" + ("" if right else " (not what the posteriors say)"))
    return verdict("ex3", ok, "your count of active dimensions, " + "; ".join(lines))


# ----- lab 03: the CVAE ----------------------------------------------------------------------------
@judge("ex1")
@torch.no_grad()
def check_03_ex1(decoder_input, model, z: torch.Tensor, y: torch.Tensor) -> str:
    """The decoder's input built by hand: the decoder must draw from it exactly what the CVAE draws for (z, y)."""
    mine = _tensor(given(decoder_input(z, y, model.num_classes)), "decoder_input(...)")
    width = model.latent_dim + model.num_classes
    if mine.shape != (len(z), width):
        return verdict("ex1", False, f"shape {tuple(mine.shape)}; the decoder reads ({len(z)}, {width})")
    difference = float((model.decoder(mine) - model.decoder_logits(z, model.condition(y))).abs().max())
    return verdict("ex1", difference < 1e-5, f"the decoder's logits from your input differ from the CVAE's by "
                   f"{difference:.2g} at most (needs < 1e-5)")  # fmt: skip


@judge("ex2")
@torch.no_grad()
def check_03_ex2(restyle, model, x: torch.Tensor, y: torch.Tensor, digit: int = 7) -> str:
    """Each image rewritten as ``digit`` in its own style: its code must be read with its own label."""
    out = _tensor(given(restyle(model, x, y, digit)), "restyle(...)")
    if out.shape != x.shape:
        return verdict("ex2", False, f"shape {tuple(out.shape)}, needs {tuple(x.shape)}, one image per input")
    style = model.decode(model.encode(x, y), torch.full((len(x),), digit))
    err = float((out - style).abs().max())  # 0 up to rounding for the same computation
    read, _ = lk.classify(out)
    share = float((read == digit).float().mean())
    lk.show(torch.cat([x[:12], out[:12]]), nrow=12, row_labels=["input", f"as {digit}"],
            title=f"Test images rewritten as {digit} ({share:.0%} of {len(x)} read as {digit})")  # fmt: skip
    return verdict("ex2", err < 1e-5, f"{share:.0%} read as {digit}; your images keep each input's own style "
                   f"(the code of x read with its true label): {err < 1e-5}")  # fmt: skip


def _first_linear(net: torch.nn.Module) -> torch.nn.Linear:
    return next(m for m in net.modules() if isinstance(m, torch.nn.Linear))


@judge("ex3")
@torch.no_grad()
def check_03_ex3(without_label, model, x: torch.Tensor, y: torch.Tensor) -> str:
    """A copy of the CVAE whose encoder and decoder ignore the label: it must do what the original does when
    given an all-zero condition (exactly the weights that read the label are cut), and leave the original alone."""
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cut = given(without_label(model))
    untouched = all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    other = (y + 1) % model.num_classes
    zero = torch.zeros(len(y), model.num_classes)
    z = model.encode(x, y)
    enc_same = torch.allclose(cut.posterior(x, model.condition(other))[0], model.posterior(x, zero)[0], atol=1e-5)
    dec_same = torch.allclose(cut.decoder_logits(z, model.condition(other)), model.decoder_logits(z, zero), atol=1e-5)
    changed = sum(int((a != b).sum()) for a, b in zip(model.parameters(), cut.parameters()))
    label_weights = model.num_classes * (_first_linear(model.encoder).out_features
                                         + _first_linear(model.decoder).out_features)  # fmt: skip
    ok = untouched and enc_same and dec_same and changed <= label_weights
    return verdict("ex3", ok, f"original left alone: {untouched}; encoder and decoder of the copy act as the "
                   f"original's with no label: {enc_same}, {dec_same}; weights changed: {changed:,} "
                   f"(the weights that read the label: {label_weights:,})")  # fmt: skip


# ----- lab 04: the AAE -----------------------------------------------------------------------------
@judge("ex1")
def check_04_ex1(digit_codes, scale: float) -> str:
    """Codes for one digit from the ten-petal prior (``prior_scale`` = scale): for every digit 0-9, at least
    95% of 2,000 codes on that digit's petal, spread along it as the petal is (a radial and a tangential
    std within a factor 1.5 of the petal's: one point repeated is not a sample)."""
    from genzoo.priors import mixture_of_labels, nearest_petal

    bad = []
    for digit in range(10):
        z = _tensor(given(digit_codes(digit, 2000, torch.Generator().manual_seed(digit))), "digit_codes(...)")
        if z.shape != (2000, 2):
            return verdict("ex1", False, f"digit_codes(digit, 2000) has shape {tuple(z.shape)}, needs (2000, 2)")
        petal = mixture_of_labels(torch.full((2000,), digit), 2, scale, torch.Generator().manual_seed(99))
        angle = 2 * math.pi * digit / 10
        axes = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        ratio = (z @ axes).std(0) / (petal @ axes).std(0)  # (radial, tangential) spread against the petal's
        on_petal = float((nearest_petal(z) == digit).float().mean())
        if on_petal < 0.95 or not bool(((ratio > 1 / 1.5) & (ratio < 1.5)).all()):
            bad.append(
                f"{digit} ({on_petal:.0%} on its petal, spread {ratio[0]:.2f} and {ratio[1]:.2f} of the petal's)"
            )
    return verdict("ex1", not bad, "every digit's codes fill its own petal" if not bad else
                   "not a draw from the digit's petal for digit " + ", ".join(bad))  # fmt: skip


def knn_reference(z_train: torch.Tensor, y_train: torch.Tensor, z_test: torch.Tensor, y_test: torch.Tensor,
                  k: int) -> float:  # fmt: skip
    nearest = torch.cdist(z_test, z_train).topk(k, largest=False).indices
    return float((y_train[nearest].mode(1).values == y_test).float().mean())


@judge("ex2")
def check_04_ex2(knn_accuracy, codes: dict) -> str:
    """k-NN digit accuracy from codes, {name: (z_train, y_train, z_test, y_test)}: within 0.02 of a
    reference for every model (ties between votes may be broken either way)."""
    lines, ok = [], True
    for name, (z_tr, y_tr, z_te, y_te) in codes.items():
        mine = float(given(knn_accuracy(z_tr, y_tr, z_te, y_te, 5)))
        right = abs(mine - knn_reference(z_tr, y_tr, z_te, y_te, 5)) <= 0.02
        ok &= right
        lines.append(f"{name} {mine:.2f}" + ("" if right else " (not what the codes' neighbours vote)"))
    return verdict("ex2", ok, "5-NN digit accuracy from the codes: " + ", ".join(lines))


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
