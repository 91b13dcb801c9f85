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
# a training signal; and separate style from digit with the supervised AAE.
# **Time**: about 45 minutes with the exercises; the notebook runs in under 3 minutes on a CPU.

# %%
import sys

sys.path[:0] = [".", ".."]  # labkit.py lives in docs/labs (this notebook may run from docs/labs/solutions)
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
# (`y_disc`, the labels shown to D, stays `None` unless `label_prior` is on: exercise 1 is about it.)

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
# exercise 1). To fit a CPU lab the MLPs are [256, 256] wide (the recipe's are [512, 512]), each model
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
# arrange the digits inside it. The swiss roll is harder: compare the codes with the roll's thin arms
# in the right-hand panel; the discriminator still tells codes from prior samples with accuracy
# {{acc_swiss_roll}}. Decoding a grid over the Gaussian prior:

# %%
g_aae = aaes["gaussian"]
lk.plane_and_scatter(g_aae, lk.codes(g_aae, x_test), y_test, "AAE, Gaussian prior: the decoded prior and the codes",
                     box="prior", background=g_aae.prior_sample(3000, torch.Generator().manual_seed(0)))
print(f"test MSE {lk.recon_mse(g_aae, x_test):.4f}; sample precision {lk.precision(g_aae.sample(500)):.2f}")

# %% [markdown]
# ## 3. The supervised AAE: style apart from content
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
# Fill in the cells whose answer starts as `None`; each check cell says PASS or FAIL and why. Solutions:
# `solutions/04_aae.ipynb`.
#
# ### Exercise 1: ten petals, one per digit
# The paper's Figure 4 shapes 2-D codes into a mixture of ten Gaussian petals, with each digit on a
# petal of its own. Choosing the ten-petal prior is not enough: the adversary only asks that all codes
# *together* fill the petals, so the digits share them (section 2's Gaussian prior showed the same).
# The paper's answer (its section 2.3) is to tell the discriminator the label too, and to pair label k
# with prior samples from petal k only: then codes of digit k pass for prior samples only on petal k.
# Give the AAE arguments that do this (`my_args`: a prior name from `genzoo.priors.PRIORS`, and the
# switch in `AAE.__init__` that shows the labels to the discriminator). The check trains the AAE as in
# section 2 with your arguments (and `lr_gen` 1e-3: the encoder must carry codes across petals), fits
# each test code to its nearest petal, and expects at least 80% of the codes on their own digit's petal.

# %% tags=["exercise"]
my_args = None  # your answer: a dict of AAE arguments, e.g. {"prior": ...}

# %% tags=["solution"]
my_args = {"prior": "mixture", "label_prior": True}  # ten petals, and the labels shown to D


# %%
def check_petals():
    if my_args is None:
        return lk.todo("ex1", "my_args is None")
    model = lk.train("aae", epochs=2, **{**common, "lr_gen": 1e-3, **my_args})
    z = lk.codes(model, x_test)
    petal = priors.nearest_petal(z)  # the petal 0-9 nearest each code, by its angle
    own = float((petal == y_test).float().mean())
    owners = [int(torch.bincount(y_test[petal == k], minlength=10).argmax()) if (petal == k).any() else None
              for k in range(10)]  # fmt: skip
    petals = priors.sample_prior("mixture", 5000, 2, 5.0, torch.Generator().manual_seed(0))
    fig, ax = plt.subplots(figsize=(6.8, 5))
    lk.scatter(ax, z, y_test, f"AAE {my_args}:\ntest codes by digit over the ten petals (grey)", background=petals)
    for k in range(10):  # the petals' numbers, outside the flower
        angle = torch.tensor(2 * torch.pi * k / 10)
        ax.annotate(str(k), (15 * float(angle.cos()), 15 * float(angle.sin())), ha="center", va="center", fontsize=12)
    ax.legend(markerscale=4, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))  # off the flower
    ax.set_aspect("equal")
    plt.tight_layout()
    plt.show()
    lk.check("ex1", own >= 0.8, f"{own:.0%} of the test codes are on their own digit's petal (needs 80%); "
             f"the digit most codes on petals 0-9 have: {owners}")


check_petals()


# %% [markdown]
# ### Exercise 2: how much of the digit is in the code?
# Write `knn_accuracy(z_train, y_train, z_test, y_test, k)`: the share of test codes whose k nearest
# training codes (Euclidean) vote for the right digit. The check runs it on the codes of the Gaussian
# AAE and of the supervised AAE: in the supervised one the label carries the digit, so its code should
# tell the digit much worse (at least 0.15 lower), and your function must agree with a reference within 0.02.

# %% tags=["exercise"]
def knn_accuracy(z_train, y_train, z_test, y_test, k=5):
    return None  # your code


# %% tags=["solution"]
def knn_accuracy(z_train, y_train, z_test, y_test, k=5):
    nearest = torch.cdist(z_test, z_train).topk(k, largest=False).indices  # (N, k)
    votes = y_train[nearest].mode(dim=1).values
    return float((votes == y_test).float().mean())


# %%
def check_knn():
    x_tr, y_tr = lk.train_set(5000)
    xs, ys = x_test[:2000], y_test[:2000]
    accs = {}
    for name, model in (("gaussian", g_aae), ("supervised", sup)):
        z_tr, z_te = lk.codes(model, x_tr), lk.codes(model, xs)
        yours = knn_accuracy(z_tr, y_tr, z_te, ys, 5)
        if yours is None:
            return lk.todo("ex2", "knn_accuracy returns None")
        d = torch.cdist(z_te, z_tr).topk(5, largest=False).indices
        reference = float((y_tr[d].mode(1).values == ys).float().mean())
        accs[name] = (float(yours), reference)
    agree = all(abs(a - r) <= 0.02 for a, r in accs.values())
    gap = accs["gaussian"][0] - accs["supervised"][0]
    lk.check("ex2", agree and gap >= 0.15,
             f"5-NN digit accuracy from the codes: Gaussian AAE {accs['gaussian'][0]:.2f}, supervised AAE "
             f"{accs['supervised'][0]:.2f} (gap {gap:.2f}, needs 0.15); agrees with the reference: {agree}")


check_knn()


# %% [markdown]
# ### Exercise 3: write a digit in a chosen hand
# Write `write(model, z_style, digit)`: decode the style codes `z_style` (N, 2) of the supervised AAE as
# the digit `digit` (an int). The check writes every digit 0-9 in 10 styles drawn from the prior and
# asks the digit classifier: at least half must be read as the digit you asked for (chance: 10%).

# %% tags=["exercise"]
def write(model, z_style, digit):
    return None  # your code: images (N, 1, 28, 28)


# %% tags=["solution"]
@torch.no_grad()
def write(model, z_style, digit):
    return model.decode(z_style, torch.full((len(z_style),), digit))


# %%
def check_write():
    styles = sup.prior_sample(10, torch.Generator().manual_seed(3))
    out = [write(sup, styles, d) for d in range(10)]
    if any(o is None for o in out):
        return lk.todo("ex3", "write returns None")
    images = torch.cat(out)
    read, _ = lk.classify(images)
    asked = torch.arange(10).repeat_interleave(10)
    acc = float((read == asked).float().mean())
    lk.show(images, nrow=10, title=f"10 styles (columns) x digits 0-9 (rows): {acc:.0%} read as asked",
            row_labels=list(range(10)), ylabel="digit asked for")
    lk.check("ex3", acc >= 0.5, f"{acc:.0%} of the 100 images are read as the digit asked for (needs 50%)")


check_write()

# %% [markdown]
# ## Summary
# - The AAE is an autoencoder plus a GAN on its codes: reconstruction, then a discriminator and the
#   encoder playing for the codes to look like prior samples.
# - It needs only samples of the prior, so the prior can be any shape; the discriminator's accuracy
#   (0.5: fooled) says how well the codes match it.
# - Given the label, the code keeps the style (the supervised AAE).
# - Next: lab 05 plays the same game on images, with and without an encoder.

# %%
lk.finish()
