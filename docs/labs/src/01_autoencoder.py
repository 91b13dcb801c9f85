# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lab 01: the autoencoder
#
# An autoencoder squeezes each image through a narrow code and back. This lab trains genzoo's `ae` on
# the bundled MNIST, measures how the size of the code limits the reconstruction, and then shows the
# one thing a plain autoencoder cannot do well: **sample**. Decoding random codes gives garbage,
# because nothing made the codes of the training images fill any particular region; a 2-D code makes
# the gaps visible. That failure is what the VAE (lab 02) fixes.
#
# Everything is trained through genzoo's Python API (`genzoo.registry.MODELS` and a Lightning
# `Trainer`, exactly what `genzoo fit` runs); each training cell prints the equivalent `genzoo fit`
# command. Trained models are cached in `runs/labs/`, so rerunning the lab is quick.
# Set `GENZOO_LAB_FAST=1` before starting Jupyter to run everything on a few batches (pictures of
# untrained models; that is what CI does).
#
# **You will** read the AE's objective in its own file; measure how the size of the code limits the
# reconstruction, against PCA with the same code size; see why decoding random codes fails; learn the
# precision metric every later lab uses; and look at a 2-D code plane and its holes.
# **Time**: about 40 minutes with the exercises; the notebook itself runs in under 3 minutes on a CPU.

# %%
import sys

sys.path[:0] = [".", ".."]  # labkit.py lives in docs/labs (this notebook may run from docs/labs/solutions)
import labkit as lk
import matplotlib.pyplot as plt
import torch

lk.start("Lab 01, the autoencoder")

# %% [markdown]
# ## 1. The data
# 55,000 training, 5,000 validation and 10,000 test digits, 28x28 grey pixels in [0, 1], bundled in
# `data/mnist/` (nothing is downloaded).

# %%
x_test, y_test = lk.test_set()
print("test images", tuple(x_test.shape), "pixel range", float(x_test.min()), "to", float(x_test.max()))
lk.show(x_test[:32], nrow=16, title="The first 32 MNIST test digits")

# %% [markdown]
# ## 2. The model, in its own file
# `genzoo/models/ae.py` is the teaching text. Its docstring states the idea; its `training_step` is the
# whole objective: encode, decode, compare with the input.

# %%
import genzoo.models.ae as ae_module

print(ae_module.__doc__)
lk.source(ae_module.AE.training_step)

# %% [markdown]
# The encoder and the decoder come from the backbone registry (`--model.backbone mlp`), which every
# model of the zoo builds its networks from; each model picks its own widths and depths (the AE's
# default: one hidden level of 512 units; the VAE of lab 02 uses three). The loss is the binary
# cross-entropy of the decoder's pixel logits (`recon_loss="bce"`), summed over pixels:
#
# $$\mathcal{L}_{\text{AE}}(x) = -\sum_{i=1}^{784} \big[x_i \log \hat x_i + (1 - x_i) \log(1 - \hat x_i)\big],
# \qquad \hat x = \sigma(\text{decoder}(\text{encoder}(x))),$$
#
# averaged over the batch (`genzoo/losses.py`, `reconstruction_loss`).
#
# ## 3. Train one autoencoder
# A 16-D code, two epochs (110,000 images).

# %%
ae16 = lk.train("ae", epochs=2, latent_dim=16)
x = x_test[:16]
recon = ae16.reconstruct(x)
print(f"test reconstruction MSE: {lk.recon_mse(ae16, x_test):.4f}  (images in [0, 1])")
lk.show(torch.cat([x, recon]), nrow=16, title="AE, 16-D code: test inputs (top) and their reconstructions (bottom)",
        row_labels=["input", "recon"])

# %% [markdown]
# The training curve, from the losses the model logged while it trained (`log_train` in `ae.py`; the
# same `metrics.csv` that `genzoo fit` writes): the summed cross-entropy per image, falling fast in the
# first few hundred batches and slowly after.

# %%
lk.curves(ae16, "AE, 16-D code: the training loss (cross-entropy summed over pixels, per image)")

# %% [markdown]
# ## 4. The size of the code against the reconstruction error
# The code is the bottleneck: with `d` numbers per image the decoder can only tell so many images
# apart. Train the same model with `d` = 2, 4, 8, 16 and 32 (same budget each) and measure the test MSE.

# %%
sizes = [2, 4, 8, 16, 32]
models = {d: lk.train("ae", epochs=2, latent_dim=d) for d in sizes}
mse = {d: lk.recon_mse(m, x_test) for d, m in models.items()}

# The baseline: PCA with the same code size, the best *linear* code (fitted on 10,000 training digits).
flat_train = lk.train_set(10000)[0].flatten(1)
centre = flat_train.mean(0)
directions = torch.linalg.svd(flat_train - centre, full_matrices=False).Vh  # rows: the principal directions


def pca_mse(d: int) -> float:
    """Test MSE of the images projected onto the top d principal directions and back."""
    basis, flat = directions[:d], x_test.flatten(1) - centre
    return float(((flat @ basis.T @ basis - flat) ** 2).mean())


pca = {d: pca_mse(d) for d in sizes}
for d in sizes:
    print(f"latent_dim {d:2d}: test MSE {mse[d]:.4f} (AE), {pca[d]:.4f} (PCA, {d} components), "
          f"AE/PCA {mse[d] / pca[d]:.2f}")
for d in (2, 8, 32):
    lk.cite(f"mse_{d}", mse[d], "{:.4f}")
    lk.cite(f"pca_{d}", pca[d], "{:.4f}")
    lk.cite(f"ratio_{d}", mse[d] / pca[d], "{:.2f}")

fig, (ax, ax_img) = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [1, 1.6]})
ax.plot(sizes, [mse[d] for d in sizes], "o-", label="AE")
ax.plot(sizes, [pca[d] for d in sizes], "s--", label="PCA, same code size")
ax.set_xscale("log", base=2)
ax.set_xticks(sizes, [str(d) for d in sizes])
ax.set_xlabel("latent_dim d (size of the code)")
ax.set_ylabel("test reconstruction MSE")
ax.set_title("A wider bottleneck keeps more of the image")
ax.legend()
ax.grid(alpha=0.3)
rows = torch.cat([x_test[:10]] + [models[d].reconstruct(x_test[:10]) for d in sizes])
lk.show(rows, nrow=10, ax=ax_img, title="Inputs, then reconstructions with d = 2 ... 32",
        row_labels=["input"] + [f"d={d}" for d in sizes])
plt.tight_layout()
plt.show()

# %% [markdown]
# The error falls from {{mse_2}} with 2 numbers per digit to {{mse_8}} with 8 and {{mse_32}} with 32:
# each doubling buys less. With 2 numbers per digit the decoder mostly draws the *class* (and confuses
# 4/9, 3/5/8), not the particular hand.
#
# **The baseline.** PCA with the same number of components is the best code that is a *linear* function
# of the pixels (for squared error); an AE whose encoder and decoder were single linear layers could do
# no better. Its test MSE is {{pca_2}} at d = 2, {{pca_8}} at d = 8 and {{pca_32}} at d = 32, so the AE's
# error is {{ratio_2}}, {{ratio_8}} and {{ratio_32}} times PCA's (below 1: the AE wins).
#
# **Think! (3 minutes)** Where does the nonlinear network pay most, at d = 2 or at d = 32, and what
# could explain the trend of the ratios? The AE is trained for two epochs and on cross-entropy, not on
# the squared error that PCA minimises: which of the two would you change first to make the comparison
# fairer, and which way would you expect the ratios to move?
#
# ## 5. Sampling from a plain autoencoder
# A generative model should turn random codes into new images. But which codes? Nothing in the AE's
# loss says where its codes live. Decoding draws from N(0, I) (what a VAE would do) gives this:

# %%
g = torch.Generator().manual_seed(0)
with torch.no_grad():
    from_noise = ae16.decode(torch.randn(500, 16, generator=g))
from_fitted = ae16.sample(500, generator=torch.Generator().manual_seed(0))
z16 = lk.codes(ae16, x_test)
print("the 16-D codes of test images: per-dimension std from", f"{float(z16.std(0).min()):.2f}",
      "to", f"{float(z16.std(0).max()):.2f}; mean |mean|", f"{float(z16.mean(0).abs().mean()):.2f}")
p_noise, p_fitted, p_real = lk.precision(from_noise), lk.precision(from_fitted), lk.precision(x_test[:500])
print(f"precision: N(0, I) codes {p_noise:.2f}, fitted Gaussian {p_fitted:.2f}, real test digits {p_real:.2f}")
lk.cite("std_lo", float(z16.std(0).min()), "{:.1f}")
lk.cite("std_hi", float(z16.std(0).max()), "{:.1f}")
lk.cite("p_real", p_real, "{:.2f}")
fig, axes = plt.subplots(1, 2, figsize=(11, 2.6))
lk.show(from_noise[:32], nrow=16, ax=axes[0], title=f"decode(z), z ~ N(0, I): precision {p_noise:.2f}")
lk.show(from_fitted[:32], nrow=16, ax=axes[1],
        title=f"AE.sample (Gaussian fitted to the codes): precision {p_fitted:.2f}")
plt.tight_layout()
plt.show()

# %% [markdown]
# The codes of real digits are nowhere near N(0, I): their spread is {{std_lo}} to {{std_hi}} per
# dimension and their centre is off zero, so N(0, I) codes all fall in a small region in the middle and
# decode to the same faint blob. `AE.sample` (see `prior_sample` in `ae.py`) draws from a Gaussian
# fitted to the codes seen in training: better, but still many blends, because the codes do not fill
# that Gaussian either.
#
# **Improved precision and recall** (Kynkäänniemi et al. 2019; `genzoo/metrics/precision_recall.py`)
# judge samples in the feature space of the digit classifier that ships with genzoo
# (`genzoo/metrics/features.py`). Around each of 5,000 real test digits put a ball that reaches its 3rd
# nearest real neighbour; the union of the balls stands for "where real digits are". **Precision**
# (`lk.precision`) is the share of generated images that land inside it: do the samples look real?
# **Recall** swaps the roles (balls around the generated images, the share of real ones inside): do the
# samples cover all of the data? A model can have one without the other: a model that draws one perfect
# digit has high precision and low recall.
#
# The baseline is not 1: 500 *other* real test digits score {{p_real}} (printed above), because balls
# reaching only the 3rd neighbour leave gaps between the points. Read every precision in these labs
# against {{p_real}}, not against 1.
#
# ## 6. Where the codes are: a 2-D code
# With `latent_dim=2` we can draw every test code. Left: the images decoded on a 20 x 20 grid over the
# square that holds the central 98% of the test codes. Right: the test codes coloured by digit, over
# 1,000 samples of N(0, I) in black (the region a VAE would sample from).

# %%
ae2 = models[2]
z2 = lk.codes(ae2, x_test)


lk.plane_and_scatter(ae2, z2, y_test, "Plain AE, 2-D code: regions of every size and shape, overlaps and gaps",
                  background=torch.randn(1000, 2), background_label="N(0, I) samples", over=True)

# %% [markdown]
# Each digit got a region of its own size and shape: the 1s a long arm, the 0s a wide fan, 4, 9 and 7
# piled on each other; where the scatter is empty or mixed, the plane on the left decodes blends. The
# black N(0, I) cloud covers a small part of the codes. Nothing in the AE's loss made the codes take a
# shape we could sample from: that is what the VAE's KL term (lab 02) and the AAE's adversary (lab 04) add.
#
# ## Exercises
# Each exercise has a cell to fill in (its answer starts as `None`) and a check cell that says PASS or
# FAIL and why (the checks are in `checks.py`, beside this notebook). The solutions are in
# `solutions/01_autoencoder.ipynb`.
#
# ### Exercise 1: the reconstruction error of each image, by hand
# Write `my_recon_errors(model, images)`: a tensor (N,) with the mean squared error of each image (in
# [0, 1]) against its reconstruction, averaged over that image's pixels. Use only `model.encode` and
# `model.decode`. The check compares every image's error with the model's own reconstruction, and their
# mean with genzoo's `test/recon_mse`. Then sort them: which test digits does the 16-D AE reconstruct worst?

# %% tags=["exercise"]
def my_recon_errors(model, images):
    return None  # your code: encode, decode, compare, one number per image


# %% tags=["solution"]
@torch.no_grad()
def my_recon_errors(model, images):
    return ((model.decode(model.encode(images)) - images) ** 2).flatten(1).mean(1)


# %%
import checks

checks.check_01_ex1(my_recon_errors, model=ae16, images=x_test[:2000])

# %% [markdown]
# ### Exercise 2: sample from the codes' own distribution, correlations included
# `AE.sample` (section 5) fits each dimension of the codes on its own: a *diagonal* Gaussian, which
# ignores how the dimensions move together. Write `code_sampler(z, n, generator)`: `n` new codes (n, D)
# from the Gaussian with the mean **and the full covariance** of the codes `z` (N, D). Derive it from
# `eps ~ N(0, I)`: which matrix `A` gives `mean + eps @ A.T` the covariance of the codes? The check
# compares the mean, spread and correlations of 20,000 of your draws with the codes' (they must not be
# codes drawn again); the cell after it decodes your draws beside the diagonal Gaussian's.

# %%
z_train = lk.codes(ae16, lk.train_set(10000)[0])
print(f"largest correlation between two of the 16 code dimensions: "
      f"{float((torch.corrcoef(z_train.T) - torch.eye(16)).abs().max()):.2f}")


# %% tags=["exercise"]
def code_sampler(z, n, generator=None):
    return None  # your code: (n, D) draws from N(mean of z, covariance of z)


# %% tags=["solution"]
def code_sampler(z, n, generator=None):
    # The Cholesky factor L of the covariance C has L @ L.T = C, so eps @ L.T has covariance C.
    chol = torch.linalg.cholesky(torch.cov(z.T))
    return z.mean(0) + torch.randn(n, z.shape[1], generator=generator) @ chol.T


# %%
checks.check_01_ex2(code_sampler, codes=z_train)

# %%
# What the correlations buy: precision of decoded draws from N(0, I), the diagonal Gaussian, and yours.
draws = {"N(0, I)": torch.randn(500, 16, generator=torch.Generator().manual_seed(1)),
         "diagonal (AE.sample)": ae16.prior_sample(500, torch.Generator().manual_seed(1))}
if code_sampler(z_train, 1) is not None:
    draws["full covariance (yours)"] = code_sampler(z_train, 500, torch.Generator().manual_seed(1))
with torch.no_grad():
    decoded = {name: ae16.decode(z) for name, z in draws.items()}
fig, axes = plt.subplots(1, len(decoded), figsize=(4.2 * len(decoded), 1.9), squeeze=False)
for ax, (name, images) in zip(axes[0], decoded.items()):
    lk.show(images[:16], nrow=8, ax=ax, title=f"{name}: precision {lk.precision(images):.2f}")
plt.tight_layout()
plt.show()

# %% [markdown]
# **Think! (2 minutes)** Even the full-covariance Gaussian is one smooth blob; the codes of section 6
# are arms and clusters. Which draws of such a blob decode to blends? Where would a better sampler
# have to put its probability?
#
# ### Exercise 3: find a hole
# Give `hole`, a 2-D code of the AE in section 6 that lies in a gap *among* the test codes `z2`: its
# nearest test code must be at least 15% of the codes' spread away (the spread: the median distance of
# the codes from their median), and there must be test codes all around it (within 1.5 spreads, in each
# of 8 directions). A corner of the picture's square is empty but not among the codes: it does not count.
# Read one off the scatter plot, or search a grid. The cell after the check decodes it: what does a hole
# look like?

# %% tags=["exercise"]
hole = None  # your answer: torch.tensor([z0, z1])

# %% tags=["solution"]
# Search a 60 x 60 grid over the picture's square for the point farthest from the codes among those
# surrounded by codes (checks.enclosure measures both).
lo, hi = z2.quantile(0.01, 0), z2.quantile(0.99, 0)
t = torch.linspace(0, 1, 60)
candidates = torch.cartesian_prod(t, t) * (hi - lo) + lo
_, relative, around = checks.enclosure(candidates, z2)
hole = candidates[torch.where(around == 8, relative, -1.0).argmax()]

# %%
checks.check_01_ex3(hole, codes=z2)

# %%
if hole is not None:
    with torch.no_grad():
        image = ae2.decode(torch.as_tensor(hole, dtype=torch.float32).reshape(1, 2))
    digit, conf = lk.classify(image)
    lk.show(image, nrow=1, title=f"decode(hole): read as {int(digit)} (confidence {conf.item():.2f})")

# %% [markdown]
# ## Summary
# - An AE learns a code by reconstruction alone; a wider code reconstructs better, with diminishing returns;
#   PCA with the same code size, the best linear code, is the baseline to read it against.
# - Nothing in its loss shapes where the codes lie, so decoding random codes (even from a Gaussian
#   fitted to the codes) gives blends: precision well below the real digits' own.
# - Precision asks "do samples look real?", recall "is all of the data covered?"; both are read against
#   the real data's own score.
# - Next: the VAE (lab 02) adds one term that makes the codes fill N(0, I).

# %%
lk.finish()
