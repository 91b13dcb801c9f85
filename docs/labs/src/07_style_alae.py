# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lab 07 (epilogue): StyleALAE, a style per level
#
# Lab 06's ALAE fed its code w to G's first layer, like any decoder. StyleALAE (the same paper, section
# 5) keeps the ALAE's game, F, D and the three updates unchanged, and swaps the two big networks for
# StyleGAN's (Karras, Laine & Aila 2019): G starts from a *learned constant* image and receives w at
# every resolution level as a **style**, the scale and shift of each feature map (AdaIN); E is its
# mirror and *reads* the styles back out of its own feature maps. Because every level takes its own
# copy of w, two codes can be given to different levels: the layout from one image, the strokes from
# another. This lab puts the style layers on the page, trains `style_alae`, redraws one level at a time,
# and mixes the styles of two real digits.
#
# **You will** write AdaIN and find it in `nn/style.py`; see how a generator built from styles splits
# an image into levels; measure what each level decides; and mix the styles of two real digits.
# **Time**: about 35 minutes with the exercises; the notebook runs in under 3 minutes on a CPU.

# %%
import sys

sys.path[:0] = [".", ".."]  # labkit.py lives in docs/labs (this notebook may run from docs/labs/solutions)
import labkit as lk
import torch

lk.start("Lab 07, StyleALAE")
x_test, y_test = lk.test_set()

# %% [markdown]
# ## 1. The style layers, in genzoo's own files
# `genzoo/models/style_alae.py` is the ALAE with two networks replaced:

# %%
import genzoo.models.style_alae as style_module
import genzoo.nn.style as style_layers

lk.source(style_module.StyleALAE, start="def build_generator", end="@property")

# %% [markdown]
# The generator's layer (`genzoo/nn/style.py`): convolution, noise, then AdaIN, which normalises every
# channel of every image to mean 0 and spread 1 and then gives it the scale and shift that an affine map
# of w asks for. So w sets the *statistics* of each feature map, not its pixels:

# %%
lk.source(style_layers.AdaIN)
lk.source(style_layers.StyleGenerator.forward)

# %% [markdown]
# **AdaIN**, written out: for feature map $x$ with channels $c$, per image,
#
# $$\mathrm{AdaIN}(x, w)_c = \big(1 + s_c(w)\big)\,\frac{x_c - \mu(x_c)}{\sqrt{\sigma^2(x_c) + \epsilon}}
# + b_c(w), \qquad \big(s(w), b(w)\big) = A\,w + a,$$
#
# where $\mu$ and $\sigma^2$ are the mean and (biased) variance of channel $c$ over its pixels
# (`F.instance_norm`, $\epsilon = 10^{-5}$) and $A, a$ are the weights of `self.style`, one learned
# affine map per layer. StyleGAN writes the scale as $y_{s,c}(w)$ itself; the code's $1 + s_c(w)$ is
# the same map with the bias of the scale shifted by 1, so that a freshly initialised layer starts
# near the identity style (StyleGAN's own code initialises that bias to 1 for the same reason).
#
# The encoder's layer reads those statistics back: the per-channel mean and spread of its activations,
# mapped to w-space. E(x) is the sum of these readings over all layers (plus a dense reading of the
# smallest map, which holds the layout; see `StyleEncoder`):

# %%
lk.source(style_layers.StyleReadConv.forward)

# %% [markdown]
# ## 2. Train it
# The MNIST defaults: a learned 7 x 7 constant, style levels at 7 x 7 (16 channels) and 14 x 14 (8
# channels), plain stride-2 layers to and from 28 x 28, per-pixel noise, w of 50 numbers. Two epochs (860
# batches; the default run trains 8, `docs/models/style_alae.md` has its curve), so that the lab runs in
# 3 minutes on a CPU; every section below uses this one model. Samples are G(F(z)) with fresh noise:

# %%
model = lk.train("style_alae", epochs=2)
print("style levels of G, coarse first (side in pixels):", model.style_sides)
samples = model.sample(2000, generator=torch.Generator().manual_seed(0))
cover = lk.coverage(samples)
lk.show(
    samples[:64],
    nrow=16,
    title=f"StyleALAE: 64 samples; precision {lk.precision(samples[:500]):.2f}, class entropy {cover['entropy']:.2f}",
)
lk.curves(model, "StyleALAE: the three updates' losses (R1 every few steps), and D's mean logit")

# %% [markdown]
# ## 3. One level at a time
# `model.mix_styles(w_coarse, w_fine, crossover=1)` draws with `w_coarse` at the 7 x 7 level and
# `w_fine` at the 14 x 14 level (StyleGAN's style mixing; with the same code twice it is an ordinary
# sample). Below, each row keeps one code and redraws one level with six fresh codes from F.

# %%
lk.source(style_module.StyleALAE.mix_styles)
g = torch.Generator().manual_seed(1)
keep = model.prior_sample(4, g)  # (4, w_dim): the codes we keep
fresh = model.prior_sample(6, g)  # (6, w_dim): the codes we put in one level
rows = []
for w in keep:
    same = w.expand(6, -1)
    rows += [
        model.mix_styles(w[None], w[None], 1),
        model.mix_styles(fresh, same, 1),
        model.mix_styles(w[None], w[None], 1),
        model.mix_styles(same, fresh, 1),
    ]
lk.show(
    torch.cat(rows),
    nrow=14,
    size=0.55,
    title="One code (first column of each half), with its 7x7 level (left) or its 14x14 level (right) redrawn",
    row_labels=[f"code {i}" for i in range(4)],
    col_labels=(["alone"] + [f"#{k}" for k in range(1, 7)]) * 2,
    xlabel="the code alone, then the level redrawn with codes #1-#6: 7x7 level (left half), 14x14 level (right)",
)

w, w_other = model.prior_sample(1000, g), model.prior_sample(1000, g)
alone = lk.classify(model.mix_styles(w, w, 1))[0]
coarse_changed = float((lk.classify(model.mix_styles(w_other, w, 1))[0] != alone).float().mean())
fine_changed = float((lk.classify(model.mix_styles(w, w_other, 1))[0] != alone).float().mean())
print(
    f"of 1,000 samples, redrawing the 7x7 level changes the digit read in {coarse_changed:.0%}, "
    f"redrawing the 14x14 level in {fine_changed:.0%}"
)
lk.cite("coarse_changed", coarse_changed, "{:.0%}")
lk.cite("fine_changed", fine_changed, "{:.0%}")
changed = {"coarse": coarse_changed, "fine": fine_changed}  # exercise 2 reasons from these
lk.cite("levels_say", "much the same digit" if coarse_changed > fine_changed + 0.2 else "often different digits")

# %% [markdown]
# Redrawing the coarse level changes the digit read in {{coarse_changed}} of the samples, the fine
# level in {{fine_changed}}. In the picture: with code #k at 7 x 7, the rows draw {{levels_say}},
# whatever code they keep at 14 x 14. The fine level keeps the shape and changes the strokes:
# their thickness, texture and speckle. The classifier's reading still changes in {{fine_changed}} of
# the samples when only the fine level is redrawn, because many of these two-epoch digits are ambiguous shapes
# that a few strokes tip one way or the other. (On 28 x 28 digits there are only two style levels; on
# StyleGAN's faces, with nine, the split into pose, features and colour is much finer.)
#
# ## 4. Mixing two real digits
# E reads a code from each image; `mix_styles` gives one to the 7 x 7 level and the other to the
# 14 x 14 level (the paper's Figure 9, on digits). Rows: the image whose code sets the coarse level;
# columns: the image whose code sets the fine level.

# %%
idx = lk.first_of_each_digit(y_test)
a_idx, b_idx = idx[[0, 2, 4, 7, 8]], idx[[1, 3, 5, 6, 9]]
a, b = x_test[a_idx], x_test[b_idx]
with torch.no_grad():
    wa, wb = model.encode(a), model.encode(b)
cells = [torch.zeros(1, 1, 28, 28), b]
for i in range(len(a)):
    cells += [a[i : i + 1], model.mix_styles(wa[i].expand(len(b), -1), wb, crossover=1)]
lk.show(
    torch.cat(cells),
    nrow=len(b) + 1,
    size=0.7,
    title="Coarse styles from the row's digit, fine styles from the column's",
    row_labels=["fine from:"] + [f"coarse {y_test[i].item()}" for i in a_idx],
    col_labels=["coarse from:"] + [str(y_test[j].item()) for j in b_idx],
)

# %% [markdown]
# ## Exercises
# Fill in the cells whose answer starts as `None`; each check cell says PASS or FAIL and why (the checks
# are in `checks.py`, beside this notebook). Solutions: `solutions/07_style_alae.ipynb`.
#
# ### Exercise 1: AdaIN by hand
# Write `adain(x, style)`: `x` is a batch of feature maps (B, C, H, W); `style` (B, 2C) is what the
# layer's affine map made of w, the first C numbers the scales and the last C the shifts. Normalise each
# channel of each image to mean 0 and variance 1 (variance over its H x W pixels, divided by H x W, plus
# 1e-5 under the square root), then multiply by (1 + scale) and add the shift. The check compares yours
# with the first AdaIN layer of the trained G.


# %% tags=["exercise"]
def adain(x, style):
    return None  # your code


# %% tags=["solution"]
def adain(x, style):
    scale, shift = style[:, :, None, None].chunk(2, dim=1)  # (B, C, 1, 1) each
    var, mean = torch.var_mean(x, dim=(2, 3), unbiased=False, keepdim=True)
    return (x - mean) / (var + 1e-5).sqrt() * (1 + scale) + shift


# %%
import checks

checks.check_07_ex1(
    adain, layer=model.generator.levels[0][0].adain, w=model.prior_sample(8, torch.Generator().manual_seed(4))
)

# %% [markdown]
# ### Exercise 2: whose digit is it? Predict, then measure
# The check cell below mixes 1,000 pairs of real test digits of different classes, with the coarse
# styles from `a` and the fine styles from `b` (`model.mix_styles(model.encode(a), model.encode(b), 1)`),
# and counts how often the classifier reads a's digit and how often b's. Predict before you run it, from
# section 3's measurements (in `changed`): which level decides the digit, `"coarse"` or `"fine"`, and
# which share of the mixes will be read as a's digit (a number, within 0.2). Think about what the mix keeps
# of a, what it takes from b, and how often section 3 saw a digit change when only that part changed.
# The check shows the measured shares once your prediction passes.

# %% tags=["exercise"]
prediction = {"level": None, "share_a": None}

# %% tags=["solution"]
# The level whose redraw changed the digit most sets the class. The mix keeps a's coarse level and
# redraws the fine one from b, which in section 3 changed the digit in changed["fine"] of the samples;
# so about 1 - changed["fine"] of the mixes keep a's digit (fewer where E misreads a in the first place).
prediction = {"level": max(changed, key=changed.get), "share_a": 1 - changed["fine"]}

# %%
g = torch.Generator().manual_seed(5)
i, j = torch.randint(0, 10000, (2, 3000), generator=g)
pair = (y_test[i] != y_test[j]).nonzero()[:1000, 0]
with torch.no_grad():
    read = lk.classify(model.mix_styles(model.encode(x_test[i[pair]]), model.encode(x_test[j[pair]]), crossover=1))[0]
checks.check_07_ex2(
    prediction,
    share_a=float((read == y_test[i[pair]]).float().mean()),
    share_b=float((read == y_test[j[pair]]).float().mean()),
    changed=changed,
)

# %% [markdown]
# ## Summary
# - AdaIN normalises each feature map and gives it a scale and shift computed from w: a style.
# - Giving each level of G its own w splits an image into what each level decides, the coarse level
#   most of the digit, the fine one the strokes.
# - E reads the styles back, so the styles of two real digits can be mixed.

# %%
lk.finish()
