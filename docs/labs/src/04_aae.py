# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lab 04: the adversarial autoencoder
#
# The VAE (lab 02) pulls its codes towards N(0, I) with a KL term, which needs the prior's density in
# closed form. The adversarial autoencoder (Makhzani et al. 2015) keeps a plain, deterministic
# autoencoder and shapes its codes with a **discriminator on the codes**: it learns to tell samples of
# the prior from codes of images, and the encoder learns to fool it. Only *samples* of the prior are
# needed, so the prior can be any shape we can draw from. This lab puts the two training phases on the
# page, trains `aae` with 2-D codes into three priors, and then trains the supervised AAE, whose code
# keeps the style of a digit while the label says which digit it is.
#
# **You will** write the AAE's two-phase objective and find each phase in `aae.py`; watch an adversary
# on the codes shape them into a prior that has no density formula; read a discriminator's accuracy as
# a training signal, and measure whether a prior really shaped the codes; put each digit on a petal of
# its own; and separate style from digit with the supervised AAE.
# **Time**: about 45 minutes with the exercises; the notebook runs in under 3 minutes on a CPU.

# %%
import sys

sys.path[:0] = [".", ".."]  # labkit.py lives in docs/labs (this notebook may run from docs/labs/solutions)
import math

import labkit as lk
import matplotlib.pyplot as plt
import torch

lk.start("Lab 04, the adversarial autoencoder")
x_test, y_test = lk.test_set()

# %% [markdown]
# ## 1. Two phases per batch, in the model's own file
# `genzoo/models/aae.py`: (1) the **reconstruction** phase trains encoder and decoder as an AE; (2) the
# **regularisation** phase first trains the discriminator D on prior samples ("real") against codes
# ("fake"), then trains the encoder to make D call its codes real. Three optimizers, stepped by hand.
# (`y_disc`, the labels shown to D, stays `None` unless `label_prior` is on: section 3 is about it.)

# %%
import genzoo.models.aae as aae_module
import genzoo.priors as priors

lk.source(aae_module.AAE.training_step)

# %% [markdown]
# **The objective, phase by phase.** With encoder $E$, decoder $G$, code discriminator $D$ (a logit
# $D(z)$, $\sigma$ the sigmoid) and prior $p(z)$, each batch takes three steps, each with its own optimizer:
#
# $$\text{(1) reconstruction:}\quad \min_{E,\,G}\ \mathbb{E}_x\big[-\log p\big(x \,|\, G(E(x))\big)\big]$$
#
# $$\text{(2a) discriminator:}\quad \min_D\ -\mathbb{E}_{z \sim p(z)}\log \sigma(D(z)) \;-\;
# \mathbb{E}_x \log\big(1 - \sigma(D(E(x)))\big)$$
#
# $$\text{(2b) encoder as generator:}\quad \min_E\ -\mathbb{E}_x \log \sigma\big(D(E(x))\big)$$
#
# In the code: (1) is `recon` (the cross-entropy summed over pixels, `opt_ae`); (2a) is `loss_d`, with
# the codes detached (`opt_d`); (2b) is `loss_g`, with D frozen (`opt_enc`, the encoder only).
#
# (2a) and (2b) are the GAN game of lab 05 played on codes: $E$ is the generator, the prior is the
# data. The paper writes (2) as the minimax $\min_E \max_D$ of the GAN value; the code's (2b) is the
# *non-saturating* form (`generator_loss`, $-\log \sigma(D)$ rather than $+\log(1 - \sigma(D))$),
# which has the same fixed point and stronger gradients while $D$ still wins easily. At the game's
# equilibrium the codes of all images, together, are distributed as $p(z)$.
#
# The priors are plain samplers in `genzoo/priors.py`, registered by name; the AAE never needs their density:

# %%
lk.source(priors.gaussian_mixture)
names = ["gaussian", "mixture", "swiss_roll"]
fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
for ax, name in zip(axes, names):
    z = priors.sample_prior(name, 3000, 2, 5.0, torch.Generator().manual_seed(0))
    ax.scatter(z[:, 0], z[:, 1], s=1, c="0.4")
    ax.set_title(f"prior '{name}' (prior_scale 5)")
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    ax.set_aspect("equal")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 2. Shape 2-D codes into a prior
# Train the AAE with 2-D codes into the Gaussian prior and into the swiss roll (the mixture is
# section 3). To fit a CPU lab the MLPs are [256, 256] wide (the recipe's are [512, 512]), each model
# trains 2 epochs (the recipe `experiments/recipes/mnist/aae_2d.yaml`: 10), and the learning rates are
# the faster ones genzoo's tests use for short runs (`tests/tiny.py`; the recipe's are tuned for stability
# over many epochs, see `docs/models/aae.md`).

# %%
common = dict(latent_dim=2, hidden_dims=[256, 256], prior_scale=5.0, lr=1e-3, lr_disc=5e-4, lr_gen=5e-4)
aaes = {name: lk.train("aae", epochs=2, prior=name, **common) for name in ["gaussian", "swiss_roll"]}

fig, axes = plt.subplots(1, 2, figsize=(11, 5))
for ax, (name, model) in zip(axes, aaes.items()):
    z = lk.codes(model, x_test)
    prior = model.prior_sample(5000, torch.Generator().manual_seed(0))
    acc = model.discriminator_accuracies(x_test[:2000])["latent"]
    lk.scatter(ax, z, y_test, f"'{name}' prior: test codes by digit, prior samples in black\n"
               f"latent discriminator accuracy {float(acc):.2f} (0.5: fooled)", background=prior[:2000], over=True)
    ax.set_aspect("equal")
    lk.cite(f"acc_{name}", float(acc), "{:.2f}")
plt.tight_layout()
plt.show()
lk.curves(aaes["gaussian"], "AAE, Gaussian prior: the three losses, and the code discriminator's accuracy")

# %% [markdown]
# Into the Gaussian the codes of the test digits fill the prior (the black points), and the adversary's
# accuracy on held-out codes is {{acc_gaussian}} (0.5 is a fooled adversary; in the curves, `d_acc`
# near 0.5 means neither side is winning). The digits take neighbouring sectors, because the adversary
# only asks that the *aggregate* of all codes looks like the prior, and leaves the encoder free to
# arrange the digits inside it.
#
# **Did the swiss roll shape its codes?** Look at the right-hand panel before trusting the title's
# accuracy ({{acc_swiss_roll}}). Measure it: the share of codes within a tenth of the gap between two
# arms of the roll (of its nearest sample), for the swiss-roll AAE's codes, for the Gaussian
# AAE's codes (which were never asked to be near the roll), and, as the two ends of the scale, for new
# samples of the roll and of the Gaussian prior.

# %%
roll = priors.sample_prior("swiss_roll", 20000, 2, 5.0, torch.Generator().manual_seed(0))
reach = 0.1 * 5.0 * priors.SWISS_ROLL_RADIUS / priors.SWISS_ROLL_TURNS  # a tenth of the gap between two arms


def near_roll(z: torch.Tensor) -> float:
    """The share of the points z within ``reach`` of the roll (of its nearest of 20,000 samples)."""
    return float((torch.cdist(z, roll).min(1).values <= reach).float().mean())


roll_new, gauss_new = (priors.sample_prior(name, 5000, 2, 5.0, torch.Generator().manual_seed(1))
                       for name in ("swiss_roll", "gaussian"))  # fmt: skip
near = {"swiss-roll AAE's codes": near_roll(lk.codes(aaes["swiss_roll"], x_test[:5000])),
        "Gaussian AAE's codes": near_roll(lk.codes(aaes["gaussian"], x_test[:5000])),
        "new samples of the roll": near_roll(roll_new),
        "samples of the Gaussian prior": near_roll(gauss_new)}  # fmt: skip
for what, share in near.items():
    print(f"within {reach:.2f} of the roll: {share:.0%} of the {what}")
lk.cite("reach", reach, "{:.2f}")
for key, what in zip(["roll_codes", "gauss_codes", "roll_new", "gauss_new"], near):
    lk.cite(f"near_{key}", near[what], "{:.0%}")
# The roll shaped the codes only if they are clearly nearer to it than codes that never saw it.
shaped = near["swiss-roll AAE's codes"] - near["Gaussian AAE's codes"] >= 0.1
lk.cite("roll_verdict", "The roll shapes the codes, in part: they are clearly nearer to it than the Gaussian "
        "AAE's" if shaped else "At this budget the roll does not shape the codes: they are no nearer to it than "
        "the Gaussian AAE's, which never saw it; the encoder has only spread them over the roll's disc")  # fmt: skip
lk.cite("roll_summary", "shaped them only in part" if shaped else "did not shape them")

# %% [markdown]
# {{near_roll_new}} of new roll samples lie within {{reach}} of the roll, and {{near_gauss_new}} of the
# Gaussian prior's samples do, by chance. The swiss-roll AAE's codes score {{near_roll_codes}}, the
# Gaussian AAE's {{near_gauss_codes}}. {{roll_verdict}}.
#
# Why a thin roll is hard for an AAE: the roll is a *curve*, so a code a little off a thin arm is
# "fake", and the discriminator must learn a boundary that follows two turns of a spiral, which a small
# MLP learns slowly; until it does, its accuracy stays modest (the title's number) and its gradient tells
# the encoder little about *where* the arms are. And the encoder must lay ten digits along one line
# without tearing their neighbourhoods apart: a harder map than filling a disc. The paper trains its
# swiss roll far longer; blobs with width, the Gaussian and the petals of section 3, are learned in two
# epochs. Decoding a grid over the Gaussian prior:
#
# %%
g_aae = aaes["gaussian"]
lk.plane_and_scatter(g_aae, lk.codes(g_aae, x_test), y_test, "AAE, Gaussian prior: the decoded prior and the codes",
                     box="prior", background=g_aae.prior_sample(3000, torch.Generator().manual_seed(0)))
print(f"test MSE {lk.recon_mse(g_aae, x_test):.4f}; sample precision {lk.precision(g_aae.sample(500)):.2f}")

# %% [markdown]
# ## 3. Ten petals, one per digit
# The paper's Figure 4 shapes 2-D codes into a mixture of ten petals, each digit on a petal of its
# own. Choosing the ten-petal prior (`prior="mixture"`) is not enough: the adversary only asks that all
# codes *together* fill the petals, so the digits would share them, as they shared the Gaussian above.
# The paper's answer (its section 2.3) is to show the discriminator the label too, and to set label k
# beside prior samples from petal k only (`label_prior=True`): codes of digit k then pass for prior
# samples only on petal k. In `aae.py` the label is appended to what D reads, and `prior_for` draws the
# prior samples of each label's petal:

# %%
lk.source(aae_module.AAE.discriminate)
lk.source(aae_module.AAE.prior_for)

# %% [markdown]
# The recipe `experiments/recipes/mnist/aae_petals.yaml` at the lab's budget (2 epochs instead of 4);
# its encoder learns to fool D at twice the rate of the other AAEs here (`lr_gen` 1e-3), because it must
# carry codes across the flower to their petals. Each test code is assigned to its nearest petal
# (`priors.nearest_petal`, by angle):

# %%
flower = lk.train("aae", epochs=2, prior="mixture", label_prior=True, **{**common, "lr_gen": 1e-3})
z_flower = lk.codes(flower, x_test)
petal = priors.nearest_petal(z_flower)
own = float((petal == y_test).float().mean())
per_digit = torch.stack([(petal[y_test == d] == d).float().mean() for d in range(10)])
print(f"on their own digit's petal: {own:.0%} of the test codes; per digit: "
      + ", ".join(f"{d}: {float(p):.0%}" for d, p in enumerate(per_digit)))
lk.cite("own_petal", own, "{:.0%}")
lk.cite("worst_petal", int(per_digit.argmin()))
petals = priors.sample_prior("mixture", 5000, 2, 5.0, torch.Generator().manual_seed(0))
fig, ax = plt.subplots(figsize=(6.8, 5))
lk.scatter(ax, z_flower, y_test, f"label_prior AAE: test codes by digit over the ten petals (grey)\n"
           f"{own:.0%} on their own digit's petal", background=petals)  # fmt: skip
for k in range(10):  # the petals' numbers, outside the flower
    angle = torch.tensor(2 * torch.pi * k / 10)
    ax.annotate(str(k), (15 * float(angle.cos()), 15 * float(angle.sin())), ha="center", va="center", fontsize=12)
ax.legend(markerscale=4, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))  # off the flower
ax.set_aspect("equal")
plt.tight_layout()
plt.show()

# %% [markdown]
# {{own_petal}} of the test codes sit on their own digit's petal (the numbers around the flower); the
# digit with the fewest on its petal is {{worst_petal}}. The decoder was never told a label: the petal
# *is* the label, so this AAE can be asked for a digit by drawing its code from that digit's petal
# (exercise 1).
#
# **Think! (2 minutes)** The discriminator sees (code, label) pairs. What would it have to learn if
# label k were set beside samples from *all* petals instead of petal k? Would the digits still sort?
#
# %% [markdown]
# ## 4. The supervised AAE: style apart from content
# With `supervised=True` the decoder is also given the one-hot digit label (the paper's Figure 6).
# The label now says *which* digit; the code has no reason to, so it keeps what the label does not
# say: slant, width, stroke. Each row below is one test image, its reconstruction, then its 2-D code
# decoded with each of the labels 0-9: the same hand writing every digit.

# %%
sup = lk.train("aae", epochs=2, supervised=True, prior="gaussian", **{**common, "prior_scale": 1.0})
import genzoo.latent.grids as grids

lk.source(grids.condition_swaps)
images, per_row = grids.condition_swaps(sup, x_test[:8], y_test[:8])
lk.show(images, nrow=per_row, title="Supervised AAE: each test image (left), its style written as 0-9",
        col_labels=["input", "recon."] + list(range(10)), xlabel="decoded with label", size=0.5)
z_sup = lk.codes(sup, x_test)
fig, ax = plt.subplots(figsize=(5.5, 5))
lk.scatter(ax, z_sup, y_test, "Supervised AAE: the codes no longer sort by digit", background=sup.prior_sample(3000))
ax.set_aspect("equal")
plt.show()

# %% [markdown]
# ## Exercises
# Fill in the cells whose answer starts as `None`; each check cell says PASS or FAIL and why (the checks
# are in `checks.py`, beside this notebook). Solutions: `solutions/04_aae.ipynb`.
#
# ### Exercise 1: ask the petals for a digit
# The label-prior AAE of section 3 has no conditional decoder, yet it can draw the digit you ask for:
# decode a code from that digit's petal. Write `digit_codes(digit, n, generator=None)`: `n` codes (n, 2)
# from petal `digit` of the prior, **from the petal's numbers alone** (without `genzoo.priors`): petal k
# is a Gaussian whose centre lies at distance 1.4 x 5 from the origin in the direction of angle
# 2 pi k / 10, with a std of 0.5 x 5 along that direction and of 0.05 x 5 across it (5 is `prior_scale`).
# How do you turn N(0, I) draws into draws of a Gaussian stretched along a turned axis? The check draws
# 2,000 codes for every digit and compares where they lie and how they spread with the petal's samples.

# %% tags=["exercise"]
def digit_codes(digit, n, generator=None):
    return None  # your code: (n, 2) codes on petal `digit`


# %% tags=["solution"]
def digit_codes(digit, n, generator=None):
    angle = torch.tensor(2 * math.pi * digit / 10)
    radial = 1.4 + 0.5 * torch.randn(n, generator=generator)  # along the petal, in units of prior_scale
    across = 0.05 * torch.randn(n, generator=generator)
    turn = torch.stack([torch.stack([angle.cos(), -angle.sin()]), torch.stack([angle.sin(), angle.cos()])])
    return 5.0 * torch.stack([radial, across], 1) @ turn.T  # rotate (radial, across) to the petal's angle


# %%
import checks

checks.check_04_ex1(digit_codes, scale=5.0)

# %%
# What the petals draw: 10 codes from each digit's petal, decoded by the label-prior AAE, read by the classifier.
if digit_codes(0, 1) is not None:
    asked = torch.arange(10).repeat_interleave(10)
    codes = torch.cat([digit_codes(d, 10, torch.Generator().manual_seed(d)) for d in range(10)])
    with torch.no_grad():
        drawn = flower.decode(codes.float())
    share = float((lk.classify(drawn)[0] == asked).float().mean())
    lk.show(drawn, nrow=10, row_labels=list(range(10)), ylabel="petal (digit asked for)",
            title=f"Codes from each petal, decoded: {share:.0%} read as the petal's digit (chance: 10%)")


# %% [markdown]
# ### Exercise 2: how much of the digit is in the code?
# Write `knn_accuracy(z_train, y_train, z_test, y_test, k)`: the share of test codes whose k nearest
# training codes (Euclidean) vote for the right digit (the most common label among the k). The check
# runs it on the codes of the Gaussian AAE and of the supervised AAE, and compares each with a reference.
#
# **Think! (2 minutes)**, before you run it: which of the two codes should tell the digit better, and by
# roughly how much? In the supervised AAE the decoder is given the label.

# %% tags=["exercise"]
def knn_accuracy(z_train, y_train, z_test, y_test, k=5):
    return None  # your code


# %% tags=["solution"]
def knn_accuracy(z_train, y_train, z_test, y_test, k=5):
    nearest = torch.cdist(z_test, z_train).topk(k, largest=False).indices  # (N, k)
    votes = y_train[nearest].mode(dim=1).values
    return float((votes == y_test).float().mean())


# %%
x_tr, y_tr = lk.train_set(5000)
codes = {name: (lk.codes(m, x_tr), y_tr, lk.codes(m, x_test[:2000]), y_test[:2000])
         for name, m in (("Gaussian AAE", g_aae), ("supervised AAE", sup))}  # fmt: skip
checks.check_04_ex2(knn_accuracy, codes=codes)

# %% [markdown]
# ## Summary
# - The AAE is an autoencoder plus a GAN on its codes: reconstruction, then a discriminator and the
#   encoder playing for the codes to look like prior samples.
# - It needs only samples of the prior, so the prior can be any shape we can draw from; whether the codes
#   take that shape must be measured (the discriminator's accuracy, 0.5 when fooled, is only a hint): the
#   thin swiss roll {{roll_summary}} in two epochs; with the labels shown to D, the ten petals put
#   {{own_petal}} of the codes on their own digit's petal.
# - Given the label, the code keeps the style (the supervised AAE).
# - Next: lab 05 plays the same game on images, with and without an encoder.

# %%
lk.finish()
