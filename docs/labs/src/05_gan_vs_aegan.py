# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lab 05: a GAN, and the AEGAN that adds an encoder
#
# A GAN has no encoder and no reconstruction: a generator G turns noise into images and a
# discriminator Dx learns to tell them from real ones. Nothing rewards G for covering *all* of the data,
# so it may draw a few digits well and never the others (mode collapse). The AEGAN (Lazarou 2020) keeps
# exactly that G and Dx and adds an encoder E, a latent discriminator Dz and two reconstruction terms,
# G(E(x)) = x and E(G(z)) = z: every real image is tied to a code, so a dropped digit would be
# reconstructed badly. This lab trains both with the same G and Dx, measures which digits each one
# draws with the shipped classifier, and walks between two real images through AEGAN's encoder.
#
# **You will** write the GAN's minimax game and the non-saturating loss the code uses; read AEGAN's six
# terms in its step; learn what R1 does; measure mode coverage with a classifier; and walk between
# real images through an encoder.
# **Time**: about 45 minutes with the exercises; the notebook runs in under 3 minutes on a CPU.

# %%
import sys

sys.path[:0] = [".", ".."]  # labkit.py lives in docs/labs (this notebook may run from docs/labs/solutions)
import labkit as lk
import matplotlib.pyplot as plt
import torch

lk.start("Lab 05, GAN against AEGAN")
x_test, y_test = lk.test_set()

# %% [markdown]
# ## 1. The two games, in the models' own files
# The GAN's step (`genzoo/models/gan.py`): phase 1 trains Dx, phase 2 trains G to fool it.

# %%
import genzoo.models.aegan as aegan_module
import genzoo.models.gan as gan_module

lk.source(gan_module.GAN.training_step)

# %% [markdown]
# **The game.** With $D(x)$ the discriminator's logit and $\sigma$ the sigmoid, Goodfellow et al. (2014)
# write the GAN as a minimax game over one value:
#
# $$\min_G \max_D\; V(D, G) = \mathbb{E}_{x \sim p_{\text{data}}} \log \sigma(D(x)) \;+\;
# \mathbb{E}_{z \sim \mathcal{N}(0, I)} \log\big(1 - \sigma(D(G(z)))\big).$$
#
# Phase 1 is D's half: `discriminator_loss` is $-V$, i.e. `softplus(-real_logits).mean() +
# softplus(fake_logits).mean()` $= -\log\sigma(D(x)) - \log(1 - \sigma(D(G(z))))$ (`genzoo/losses.py`).
# Phase 2 is *not* G's half of $V$: minimising $\log(1 - \sigma(D(G(z))))$ **saturates**, its gradient
# vanishing exactly when D rejects G's images with confidence, which is where G starts. The code uses
# the paper's **non-saturating** loss instead, `generator_loss` $= -\log \sigma(D(G(z)))$
# (`softplus(-fake_logits)`): the same fixed point, and strong gradients while G is still bad.
#
# **R1.** `image_discriminator_loss` adds, when `r1_gamma > 0`, the R1 penalty of Mescheder et al.
# (2018) to D's loss: $\frac{\gamma}{2}\,\mathbb{E}_{x}\,\lVert \nabla_x D(x) \rVert^2$ on *real*
# images (`r1_penalty`). It keeps D's answer flat around the data, so D cannot push G with steep,
# shifting gradients; it is the standard cure for a GAN that oscillates or collapses. The plain GAN
# here has `r1_gamma = 0`; the ALAEs of labs 06 and 07 use it by default.
#
# The AEGAN's step (`genzoo/models/aegan.py`) forms four values from a batch, x_hat = G(z),
# z_hat = E(x), x_tilde = G(E(x)), z_tilde = E(G(z)), and asks Dx and Dz to judge them while G and E
# also invert each other:

# %%
lk.source(aegan_module.AEGAN.training_step, start="def training_step", end="self.log_train")

# %% [markdown]
# **AEGAN's six terms.** Write $\ell(d) = -\log\sigma(d)$ (the non-saturating loss), $\hat x = G(z)$,
# $\hat z = E(x)$, $\tilde x = G(E(x))$, $\tilde z = E(G(z))$. Phase (2) trains G and E on
#
# $$\mathcal{L}_{GE} = \lambda_{\text{adv},x}\,\tfrac12\big[\ell(D_x(\hat x)) + \ell(D_x(\tilde x))\big]
# + \lambda_{\text{adv},z}\,\tfrac12\big[\ell(D_z(\hat z)) + \ell(D_z(\tilde z))\big]
# + \lambda_{\text{rec},x}\,\mathrm{rec}(\tilde x, x) + \lambda_{\text{rec},z}\,\lVert \tilde z - z \rVert^2,$$
#
# six terms: two fakes for each discriminator, and the two reconstructions (`adv_x`, `adv_z`, `rec_x`,
# `rec_z` in the code, weighted by `lambda_image_adv`, `lambda_latent_adv`, `lambda_image_recon`,
# `lambda_latent_recon`). Phase (1) trains $D_x$ on $x$ against $\{\hat x, \tilde x\}$ and $D_z$ on
# $z$ against $\{\hat z, \tilde z\}$, each with the GAN's `discriminator_loss`. Where the code differs
# from the paper: each pair of adversarial terms is one mean over the concatenated fakes (so each term
# weighs $\lambda/2$); the latent reconstruction is a mean over dimensions; the image reconstruction
# is the per-pixel mean of `image_recon_loss`, by default the cross-entropy (the paper: $|\tilde x - x|$,
# `l1`) with weight 100 (the paper's code: 10); `aegan.py`'s docstring says why.
#
# ## 2. Train both, with the same G and Dx
# The MNIST defaults of both (MLP G 8-256-512-784 and Dx 784-512-256-1, the same learning rates),
# 2 epochs each (the recipes train 16; `docs/benchmarks.md` has the 4-epoch comparison).

# %%
gan = lk.train("gan", epochs=2)
aegan = lk.train("aegan", epochs=2)
from genzoo.models.ema import live  # the trained network, without its moving average (section 3 of lab 06)

same = [sum(p.numel() for p in live(getattr(m, net)).parameters())
        for net in ("generator", "discriminator") for m in (gan, aegan)]
print(f"parameters of G: GAN {same[0]:,}, AEGAN {same[1]:,}; of Dx: GAN {same[2]:,}, AEGAN {same[3]:,}")
g = torch.Generator().manual_seed(0)
samples = {"GAN": gan.sample(2000, generator=g),
           "AEGAN": aegan.sample(2000, generator=torch.Generator().manual_seed(0))}
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
for ax, (name, s) in zip(axes, samples.items()):
    lk.show(s[:64], nrow=16, ax=ax, title=f"{name}: 64 samples (precision {lk.precision(s[:500]):.2f})")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 3. Mode coverage, measured
# The digit classifier that ships with genzoo reads each of 2,000 samples; `genzoo.metrics.coverage`
# turns the readings into a histogram and its entropy divided by log 10: 1.0 when all ten digits are
# drawn equally often, 0.0 when only one is (real test digits: in the legend below).

# %%
cover = {name: lk.coverage(s) for name, s in samples.items()}
real = lk.coverage(x_test[:2000])
fig, ax = plt.subplots(figsize=(9, 3.4))
width = 0.28
for i, (name, c) in enumerate([("real test digits", real), *cover.items()]):
    ax.bar(torch.arange(10) + (i - 1) * width, c["histogram"], width, label=f"{name} (entropy {c['entropy']:.2f})")
ax.set_xticks(range(10))
ax.set_xlabel("digit, as read by the classifier")
ax.set_ylabel("share of the samples")
ax.set_title("Which digits does each model draw?")
ax.legend()
plt.tight_layout()
plt.show()
for name, c in cover.items():
    print(f"{name}: class entropy {c['entropy']:.3f}, mean classifier confidence {c['mean_confidence']:.2f}")
    lk.cite(f"entropy_{name}", c["entropy"], "{:.2f}")
top = int(torch.as_tensor(cover["AEGAN"]["histogram"]).argmax())
lk.cite("aegan_top", top)
lk.cite("aegan_top_share", float(torch.as_tensor(cover["AEGAN"]["histogram"])[top]), "{:.0%}")
lk.curves(gan, "GAN: the two losses, and Dx's accuracy on real against generated images")
lk.curves(aegan, "AEGAN: the six terms' pieces, and the accuracy of Dx (images) and Dz (codes)")

# %% [markdown]
# After 2 epochs the GAN draws one and the same speckled blob from every code: complete mode collapse
# (entropy {{entropy_GAN}}; the classifier even reads the blob as one digit with full confidence, which is why
# precision, the share of samples among real digits, is shown beside it). The AEGAN, with the very same
# G and Dx, draws every digit, though not yet evenly: after 2 epochs {{aegan_top_share}} of its samples
# are read as {{aegan_top}}, which holds its entropy at {{entropy_AEGAN}}. `docs/benchmarks.md` has the
# same comparison after 4 epochs (class entropy 0.52 against 0.95): the AEGAN paper's claim, measured.
#
# ## 4. Walking between two real images
# The GAN has no encoder, so it can only walk between random codes. The AEGAN encodes two test images,
# walks the straight line between their codes and decodes each point (`genzoo.latent.ops.interpolate`,
# what `genzoo interpolate --from A --to B` draws).

# %%
from genzoo.latent import ops

pairs = [(0, 1), (2, 3), (4, 7), (8, 11)]
a = x_test[[i for i, _ in pairs]]
b = x_test[[j for _, j in pairs]]
walk, _ = ops.interpolate(aegan, a, b, steps=10)
gan_walk, _ = ops.interpolate_prior(gan, 2, steps=10, generator=torch.Generator().manual_seed(1))
rows = torch.cat([torch.cat([a[:, None], walk, b[:, None]], 1).flatten(0, 1), torch.cat(
    [torch.zeros(2, 1, 1, 28, 28), gan_walk, torch.zeros(2, 1, 1, 28, 28)], 1).flatten(0, 1)])
lk.show(rows, nrow=12,
        title="AEGAN: real image, the walk between the codes, real image (rows 1-4); GAN: between random codes",
        row_labels=[f"AEGAN {y_test[i].item()}->{y_test[j].item()}" for i, j in pairs] + ["GAN", "GAN"],
        col_labels=["x_a"] + [f"{t:.1f}" for t in torch.linspace(0, 1, 10).tolist()] + ["x_b"], xlabel="t", size=0.5)

# %% [markdown]
# ## Exercises
# Fill in the cells whose answer starts as `None`; each check cell says PASS or FAIL and why. Solutions:
# `solutions/05_gan_vs_aegan.ipynb`.
#
# ### Exercise 1: class entropy by hand
# Write `class_entropy(digits)`: given the digit read for each sample (a tensor of ints 0-9), the entropy
# of their histogram divided by log 10. The check compares it with genzoo's coverage on both models'
# samples.

# %% tags=["exercise"]
def class_entropy(digits):
    return None  # your code


# %% tags=["solution"]
def class_entropy(digits):
    p = torch.bincount(digits, minlength=10).double() / len(digits)
    p = p[p > 0]
    return float(-(p * p.log()).sum() / torch.log(torch.tensor(10.0)))


# %%
def check_entropy():
    out = {}
    for name, s in samples.items():
        digits, _ = lk.classify(s)
        yours = class_entropy(digits)
        if yours is None:
            return lk.todo("ex1", "class_entropy returns None")
        out[name] = (float(yours), cover[name]["entropy"])
    ok = all(abs(a - b) < 1e-4 for a, b in out.values())
    lk.check("ex1", ok, "; ".join(f"{n}: yours {a:.4f}, genzoo's {b:.4f}" for n, (a, b) in out.items()))


check_entropy()


# %% [markdown]
# ### Exercise 2: the encoder inverts the generator
# AEGAN trains E(G(z)) = z. Write `latent_cycle_error(model, z)`: the mean squared error between codes
# `z` and `model.encode(model.decode(z))`. The check runs it on 1,000 prior codes of the AEGAN and
# expects the codes to come back much closer than two random codes are to each other (under 25% of
# the mean squared distance between independent prior codes).

# %% tags=["exercise"]
def latent_cycle_error(model, z):
    return None  # your code


# %% tags=["solution"]
@torch.no_grad()
def latent_cycle_error(model, z):
    return float(((model.encode(model.decode(z)) - z) ** 2).mean())


# %%
def check_cycle():
    z = aegan.prior_sample(1000, torch.Generator().manual_seed(2))
    err = latent_cycle_error(aegan, z)
    if err is None:
        return lk.todo("ex2", "latent_cycle_error returns None")
    baseline = float(((z - z.roll(1, 0)) ** 2).mean())
    with torch.no_grad():
        reference = float(((aegan.encode(aegan.decode(z)) - z) ** 2).mean())
    ok = abs(float(err) - reference) <= 1e-4 * max(reference, 1e-8) and float(err) < 0.25 * baseline
    lk.check("ex2", ok, f"E(G(z)) vs z: mean squared error {float(err):.3f} (reference {reference:.3f}); "
             f"two random codes: {baseline:.3f} (needs under 25% of it)")


check_cycle()


# %% [markdown]
# ### Exercise 3: what does the latent reconstruction buy?
# Of AEGAN's two reconstruction terms, the image one, |G(E(x)) - x|, ties every real image to a code.
# The latent one, (E(G(z)) - z)^2, ties every code to an image. Take the latent one away: give the AEGAN
# arguments that set its weight to 0 (`no_latent_recon`, a dict; the weight's name is in `aegan.py`), and
# guess whether the class coverage of its samples then `"falls"` or `"holds"`. The check trains that
# AEGAN as in section 2 and measures the class entropy against the default AEGAN's (a fall: 0.05 or more).

# %% tags=["exercise"]
no_latent_recon = None  # your answer: a dict of AEGAN arguments
my_guess = None  # "falls" or "holds"

# %% tags=["solution"]
no_latent_recon = {"lambda_latent_recon": 0.0}
my_guess = "falls"  # without E(G(z)) = z, nothing asks G to use every code: codes drift to fewer digits


# %%
def check_latent_term():
    if no_latent_recon is None or my_guess is None:
        return lk.todo("ex3", "set no_latent_recon and my_guess")
    model = lk.train("aegan", epochs=2, **no_latent_recon)
    weight = model.hparams["lambda_latent_recon"]
    if weight != 0:
        return lk.check("ex3", False, f"the latent reconstruction weight is {weight}, not 0")
    s = model.sample(2000, generator=torch.Generator().manual_seed(0))
    c = lk.coverage(s)
    fall = cover["AEGAN"]["entropy"] - c["entropy"]
    measured = "falls" if fall >= 0.05 else "holds"
    z = model.prior_sample(1000, torch.Generator().manual_seed(2))
    with torch.no_grad():
        cycle = float(((model.encode(model.decode(z)) - z) ** 2).mean())
    fig, ax = plt.subplots(figsize=(9, 3.2))
    for i, (name, h) in enumerate([("AEGAN", cover["AEGAN"]["histogram"]), ("latent weight 0", c["histogram"])]):
        ax.bar(torch.arange(10) + (i - 0.5) * 0.4, h, 0.4, label=name)
    ax.set_xticks(range(10))
    ax.set_xlabel("digit, as read by the classifier")
    ax.set_ylabel("share of the samples")
    ax.set_title(f"AEGAN with and without the latent reconstruction (entropy {cover['AEGAN']['entropy']:.2f} "
                 f"and {c['entropy']:.2f})")
    ax.legend()
    plt.tight_layout()
    plt.show()
    lk.check("ex3", my_guess == measured, f"class entropy {c['entropy']:.2f} against the default's "
             f"{cover['AEGAN']['entropy']:.2f}: coverage {measured} (you guessed {my_guess!r}); "
             f"E(G(z)) vs z now off by {cycle:.3f} (mean squared)")


check_latent_term()

# %% [markdown]
# ## Summary
# - A GAN is a minimax game; the code trains D on $-V$ and G on the non-saturating loss.
# - R1 keeps D smooth around real data; class histograms from a classifier measure mode coverage.
# - AEGAN ties every real image to a code with two reconstructions, which rewards covering the data,
#   and gives the GAN an encoder: walks between real images.
# - Next: the ALAE (lab 06) plays the whole game on codes.

# %%
lk.finish()
