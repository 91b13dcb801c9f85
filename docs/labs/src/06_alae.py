# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lab 06: the adversarial latent autoencoder (ALAE)
#
# Lab 05's AEGAN bolted an encoder onto a GAN and tied the two with pixel reconstructions. The ALAE
# (Pidhorskyi, Adjeroh & Doretto, CVPR 2020) goes the other way: it splits both players of a GAN in two
# and plays the whole game on *codes*. The generator becomes G o F: a mapping network F turns noise z
# into a code w, and G draws the image. The discriminator becomes D o E: an encoder E reads an image into
# a code w, and a small D judges that code. One more term, E(G(w)) = w, makes E the inverse of G. There
# is no pixel loss anywhere, yet real images are reconstructed as G(E(x)). This lab puts the four
# networks and the three updates on the page, trains `alae`, and looks at what it does with real images:
# reconstructions without a pixel loss, and walks between them in w.
#
# **You will** write the ALAE's two objectives and find them in its three updates; learn what R1 and an
# exponential moving average (EMA) of the weights do; check that E inverts G; and compare reconstructions
# and walks made without any pixel loss to a plain AE's.
# **Time**: about 45 minutes with the exercises; the notebook runs in under 3 minutes on a CPU.

# %%
import sys

sys.path[:0] = [".", ".."]  # labkit.py lives in docs/labs (this notebook may run from docs/labs/solutions)
import labkit as lk
import matplotlib.pyplot as plt
import torch

lk.start("Lab 06, the ALAE")
x_test, y_test = lk.test_set()

# %% [markdown]
# ## 1. F, G, E and D, in the model's own file
# `genzoo/models/alae.py` builds the two sides of the game. F is a small MLP on w-sized vectors; G and E
# are the backbone's decoder and encoder (MLPs on MNIST); D is a small MLP on codes, never on pixels:

# %%
import genzoo.models.alae as alae_module
from genzoo.models.ema import live
from genzoo.registry import MODELS

lk.source(alae_module.ALAE.__init__, start="# The generator side", end="if equalized_lr")

# %%
fresh = MODELS.get("alae")()
for letter, net in [("F", "mapping"), ("G", "generator"), ("E", "encoder"), ("D", "discriminator")]:
    n = sum(p.numel() for p in live(getattr(fresh, net)).parameters())  # not counting the moving average
    print(f"{letter} = self.{net}: {n:>9,} parameters")

# %% [markdown]
# ## 2. Three updates per batch
# (I) E and D learn to tell real images from generated ones *by their codes*, with an R1 penalty on
# real images; (II) F and G learn to make images whose codes D takes for real; (III) E and G learn the
# latent autoencoding E(G(w)) = w, with w = F(z) as the target (F itself is not trained by it).

# %%
lk.source(alae_module.ALAE.training_step)

# %% [markdown]
# **The two objectives.** With $\ell(d) = \log(1 + e^{d})$ (`softplus`), the paper's adversarial game is
# the GAN of lab 05 played on E's codes, and its second objective is an autoencoder in w-space:
#
# $$\min_{F,G}\,\max_{E,D}\; \mathbb{E}_x\big[\log\sigma(D(E(x)))\big]
# + \mathbb{E}_z\big[\log\big(1 - \sigma(D(E(G(F(z)))))\big)\big],
# \qquad \min_{E,G}\; \Delta = \mathbb{E}_z \big\lVert F(z) - E(G(F(z))) \big\rVert_2^2 .$$
#
# The step splits them into its three updates:
# - (I) `loss_d` $= \ell(D(E(G(F(z))))) + \ell(-D(E(x)))$, the first objective's max side, plus R1
#   on real images: $\frac{\gamma}{2}\lVert\nabla_x D(E(x))\rVert^2$;
# - (II) `loss_g` $= \ell(-D(E(G(F(z)))))$, the min side in its non-saturating form (as in lab 05);
# - (III) `loss_lae`, the second objective, with $w = F(z)$ computed without a graph.
#
# Where the code differs from the paper: $\Delta$ is a *mean* over the code's entries (as in the
# official code), not the summed squared norm, which rescales it by $1/\dim w$; R1 may be *lazy*
# (every `r1_every` steps, multiplied by `r1_every` to keep its average weight; every step by default
# here); and F only sets the target in (III), as in the paper's Algorithm 1.
#
# **R1** (Mescheder et al. 2018; lab 05 introduced it) penalises the slope of D's answer at real
# images, $\frac{\gamma}{2}\,\mathbb{E}_x\lVert\nabla_x D(E(x))\rVert^2$ with `r1_gamma` $= \gamma$:
# D's verdict must change slowly around the data, which keeps the game from oscillating. Here the
# gradient runs through E too, since D judges E's code.
#
# ## 3. Train it
# The MNIST defaults (z and w of 50 numbers, E and G MLPs of four levels of 512, Adam 1e-3, R1 gamma 1, an
# exponential moving average of F, G and E used for sampling), trained for one and a half epochs only
# (642 batches): the default run trains 13 (`docs/models/alae.md` has its curve), and this lab must run
# in 3 minutes on a CPU. Every section below uses this one model. Samples are G(F(z)):

# %%
alae = lk.train("alae", epochs=1.5)
samples = alae.sample(2000, generator=torch.Generator().manual_seed(0))
cover = lk.coverage(samples)
lk.show(
    samples[:64],
    nrow=16,
    title=f"ALAE: 64 samples G(F(z)); precision {lk.precision(samples[:500]):.2f}, "
    f"class entropy {cover['entropy']:.2f}",
)
lk.curves(alae, "ALAE: the three updates' losses (r1 on the steps that compute it), and D's mean logit")
lk.cite("ema_decay", alae.hparams.ema_decay, "{:g}")
lk.cite("ema_steps", round(1 / (1 - alae.hparams.ema_decay)), "{:,}")

# %% [markdown]
# **EMA.** The samples above come from an *exponential moving average* of the weights of F, G and E,
# not from the weights as they are at the last step: after every step each averaged weight moves a
# little towards the live one, $\bar\theta \leftarrow d\,\bar\theta + (1 - d)\,\theta$ with
# `ema_decay` $d$ = {{ema_decay}} (`Averaged.update` in `genzoo/models/ema.py`, with a warm-up that
# follows the live weights closely in the first steps). That averages over roughly the last
# $1/(1 - d)$ = {{ema_steps}} steps, which smooths out the back-and-forth of the adversarial game; the
# model computes with the averages whenever it is in eval mode (`ema.live(net)` is the trained network
# without its average).
#
# The curves: `d` and `g` do not fall together, as a loss does, because each player's loss is the
# other's gain; the two mean logits show how far apart D holds real and generated codes. `lae`, the
# latent autoencoding, is an ordinary loss and falls.

# %% [markdown]
# ## 4. The latent autoencoding term at work
# Phase III asks E to give back the code that G was given. Below, 1,000 codes w = F(z) go through G and
# back through E, for the trained model and for an untrained one. Each point is one coordinate of one
# code: on the diagonal, E(G(w)) = w.


# %%
@torch.no_grad()
def round_trip(model, n=1000, seed=1):
    w = model.prior_sample(n, torch.Generator().manual_seed(seed))
    return w, model.encode(model.decode(w))


fig, axes = plt.subplots(1, 2, figsize=(10, 4.4))
for ax, (name, model) in zip(axes, [("untrained", fresh.eval()), ("trained 1.5 epochs", alae)]):
    w, back = round_trip(model)
    rel = float(((back - w) ** 2).mean() / w.var(0).mean())
    ax.scatter(w[:, :4].flatten(), back[:, :4].flatten(), s=2, alpha=0.4, rasterized=True)
    lim = float(w[:, :4].abs().max())
    ax.plot([-lim, lim], [-lim, lim], "k--", lw=1, label="E(G(w)) = w")
    ax.set_xlabel("w = F(z), coordinates 0-3")
    ax.set_ylabel("E(G(w)), the same coordinates")
    ax.set_title(f"{name}: error / variance of w = {rel:.2f}")
    lk.cite("rel_" + name.split()[0], rel, "{:.2f}")
    if model is alae:  # the prose below says what this run shows, whatever the budget gave
        lk.cite("rel_says", "lie along the diagonal, and E reads back most of" if rel < 0.5 else
                "only begin to gather along the diagonal: E reads back part of")  # fmt: skip
    ax.legend(loc="upper left")
plt.tight_layout()
plt.show()

# %% [markdown]
# Untrained, E's answer has nothing to do with w: the error is {{rel_untrained}} times w's own variance.
# Trained, it is {{rel_trained}} times: the points {{rel_says}} what G was told to draw.
#
# ## 5. Reconstructions without a pixel loss
# Nothing in the three updates compares pixels. Still, G(E(x)) of a real image is a picture of it:
# E learned to read the codes G writes, and the adversarial game made codes of real images look like
# codes of generated ones. Compare with a plain autoencoder (lab 01), whose only aim is pixels:

# %%
ae = lk.train("ae", epochs=1)
idx = torch.cat([lk.first_of_each_digit(y_test), lk.first_of_each_digit(y_test[100:]) + 100])
x = x_test[idx]
alae_recon, ae_recon = alae.reconstruct(x), ae.reconstruct(x)
lk.show(
    torch.cat([x, alae_recon, ae_recon]),
    nrow=20,
    title="Test digits (top), the ALAE's G(E(x)) (middle), a plain AE's reconstruction (bottom)",
    row_labels=["input", "ALAE", "AE"],
)
print(f"pixel MSE on the test set: ALAE {lk.recon_mse(alae, x_test):.4f}, AE (1 epoch) {lk.recon_mse(ae, x_test):.4f}")
sharp = {
    "real": lk.sharpness(x_test[:1000]),
    "ALAE": lk.sharpness(alae.reconstruct(x_test[:1000])),
    "AE": lk.sharpness(ae.reconstruct(x_test[:1000])),
}
print("sharpness (variance of the Laplacian): " + ", ".join(f"{k} {v:.4f}" for k, v in sharp.items()))
lk.cite("mse_alae", lk.recon_mse(alae, x_test), "{:.4f}")
lk.cite("mse_ae", lk.recon_mse(ae, x_test), "{:.4f}")
lk.cite("sharp_ratio", sharp["ALAE"] / sharp["AE"], "{:.1f}")

# %% [markdown]
# The ALAE was never asked for the pixels, yet its pixel error is {{mse_alae}} against the AE's
# {{mse_ae}}, and the variance of the Laplacian of its reconstructions is {{sharp_ratio}} times the AE's
# (compare both with the real digits' above). Above 1, G's redrawn strokes would be crisper than the
# AE's averages of the digits it could mean; below 1, after this short training, G still draws soft
# strokes, and E's codes miss details that the AE, aiming at pixels alone, keeps. The reconstructions
# are not copies either: look along the middle row for digits the ALAE redrew as a more common shape,
# sometimes as another digit. Exercise 2 measures how often the digit survives.
#
# ## 6. Walking in w
# Encode two test images, walk the straight line between their codes, and decode each point
# (`genzoo.latent.ops.interpolate`, what `genzoo interpolate --from A --to B` draws). Below each walk,
# the same two images cross-faded pixel by pixel.

# %%
from genzoo.latent import ops

pairs = [(0, 1), (2, 3), (4, 7), (8, 11)]
a, b = x_test[[i for i, _ in pairs]], x_test[[j for _, j in pairs]]
t = torch.linspace(0, 1, 10)
walk, _ = ops.interpolate(alae, a, b, steps=10)  # (4, 10, 1, 28, 28)
fade = (1 - t)[None, :, None, None, None] * a[:, None] + t[None, :, None, None, None] * b[:, None]
rows = torch.stack([walk, fade], 1).flatten(0, 2)
labels = [f"{kind} {y_test[i].item()}->{y_test[j].item()}" for i, j in pairs for kind in ("w walk", "fade")]
lk.show(
    rows,
    nrow=10,
    title="ALAE: decoded walk between two codes w = E(x), and the pixel cross-fade under it",
    row_labels=labels,
    col_labels=[f"{v:.1f}" for v in t.tolist()],
    xlabel="t",
    size=0.5,
)

# %% [markdown]
# The cross-fade is a double exposure in the middle: both digits at half strength, one over the other.
# The walk in w changes the strokes instead, one shape bending into the next (a 1 thickens into a 0, a
# 4 closes into a 9). After one and a half epochs the middle of a walk between two different digits is
# often still a faint, uncertain shape; exercise 3 measures whether it looks more like a digit than the
# fade does.
#
# ## Exercises
# Fill in the cells whose answer starts as `None`; each check cell says PASS or FAIL and why (the checks
# are in `checks.py`, beside this notebook). Solutions: `solutions/06_alae.ipynb`.
#
# ### Exercise 1: who learns in which update?
# Give, for each of the three updates, the set of networks whose weights it changes, as letters
# (`"F"`, `"G"`, `"E"`, `"D"`). Read the step in section 2, not the summary above it: the comments say
# which optimizers step. The check trains a fresh ALAE on one batch and watches its optimizers
# (`lk.networks_moved`): what the code really does, step by step. It names a wrong update, not the answer.

# %% tags=["exercise"]
updates = {"I": None, "II": None, "III": None}  # e.g. {"E", "D"}

# %% tags=["solution"]
updates = {"I": {"E", "D"}, "II": {"F", "G"}, "III": {"E", "G"}}

# %%
import checks

letters = {"mapping": "F", "generator": "G", "encoder": "E", "discriminator": "D"}
checks.check_06_ex1(updates, moved=lk.networks_moved(MODELS.get("alae")(), x_test[:64], y_test[:64], letters))


# %% [markdown]
# ### Exercise 2: which digits does the reconstruction keep?
# Write `digit_kept(model, images, labels)`: for each digit 0-9, the share of the reconstructions
# `model.reconstruct(images)` of the images of that digit that the shipped classifier (`lk.classify(images)`
# returns the digits it reads, and its confidence) reads as that digit: a tensor of 10 shares. Before you
# run it, look at section 5's middle row and guess which digit the ALAE redraws as another most often.


# %% tags=["exercise"]
def digit_kept(model, images, labels):
    return None  # your code


# %% tags=["solution"]
@torch.no_grad()
def digit_kept(model, images, labels):
    digits, _ = lk.classify(model.reconstruct(images))
    return torch.stack([(digits[labels == d] == d).float().mean() for d in range(10)])


# %%
if checks.check_06_ex2(digit_kept, model=alae, images=x_test[:2000], labels=y_test[:2000]) == checks.PASS:
    kept = digit_kept(alae, x_test[:2000], y_test[:2000])
    overall = float((lk.classify(alae.reconstruct(x_test[:2000]))[0] == y_test[:2000]).float().mean())
    print(f"over all 2,000 test digits the ALAE's G(E(x)) keeps the digit in {overall:.0%}, with no pixel loss")


# %% [markdown]
# ### Exercise 3: halfway in w, halfway in pixels
# Write `midpoints(model, a, b)`: the images decoded halfway between the codes of `a` and `b`
# (`model.encode`, `model.decode`). Once it passes, the cell compares the precision (`lk.precision`, the
# share that look like real digits) of your midpoints on 500 pairs of test digits of different classes
# with that of the pixel averages (a + b) / 2.


# %% tags=["exercise"]
def midpoints(model, a, b):
    return None  # your code


# %% tags=["solution"]
@torch.no_grad()
def midpoints(model, a, b):
    return model.decode((model.encode(a) + model.encode(b)) / 2)


# %%
g = torch.Generator().manual_seed(3)
i, j = torch.randint(0, 10000, (2, 2000), generator=g)
keep = (y_test[i] != y_test[j]).nonzero()[:500, 0]
a, b = x_test[i[keep]], x_test[j[keep]]
if checks.check_06_ex3(midpoints, model=alae, a=a, b=b) == checks.PASS:
    mid = midpoints(alae, a, b)
    p_w, p_pixels = lk.precision(mid), lk.precision((a + b) / 2)
    print(f"precision of the midpoints in w {p_w:.2f}, of the pixel averages {p_pixels:.2f}")
    lk.show(
        torch.cat([a[:12], mid[:12], (a + b)[:12] / 2, b[:12]]),
        nrow=12,
        title="Pairs of test digits a, b: halfway in w, and halfway in pixels",
        row_labels=["a", "w", "pixels", "b"],
    )

# %% [markdown]
# ## Summary
# - The ALAE splits G into G o F and D into D o E, plays the GAN game on codes, and adds a latent
#   autoencoder E(G(w)) = w: two objectives in three updates.
# - R1 keeps the game stable, the EMA of the weights smooths it, and the curves show a game, not a descent.
# - Without any pixel loss, G(E(x)) redraws real images; a walk in w is redrawn by G at every step, where a
#   pixel fade overlays two images (how digit-like the middle is depends on the training: exercise 3).
# - Next: StyleALAE (lab 07) gives w to every level of G as a style.

# %%
lk.finish()
