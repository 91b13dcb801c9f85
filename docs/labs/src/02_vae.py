# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lab 02: the variational autoencoder
#
# Lab 01 ended with a plain autoencoder whose codes sit wherever the training put them, so random
# codes decode to nothing. The VAE changes two lines of the AE: the encoder outputs a Gaussian
# q(z|x) = N(mu(x), sigma(x)^2) instead of one code, and the loss gains a KL term that pulls every
# q(z|x) towards the prior N(0, I). Then the prior is where the codes are, and decoding a draw from it
# gives a digit. This lab puts both lines on the page, trains `vae` through genzoo, turns the weight
# beta of the KL term up and down, and decodes the whole 2-D code plane.
#
# **You will** derive the VAE's loss (the ELBO) and find each of its terms in `vae.py`; see why
# sampling now works; measure what the KL weight beta trades; and read a decoded 2-D prior.
# **Time**: about 45 minutes with the exercises; the notebook runs in under 3 minutes on a CPU.

# %%
import sys

sys.path[:0] = [".", ".."]  # labkit.py lives in docs/labs (this notebook may run from docs/labs/solutions)
import labkit as lk
import matplotlib.pyplot as plt
import torch

lk.start("Lab 02, the variational autoencoder")
x_test, y_test = lk.test_set()

# %% [markdown]
# ## 1. The two lines, in the model's own file
# `genzoo/models/vae.py`: the encoder emits (mu, log sigma^2); `z = mu + sigma * eps` is the
# **reparameterisation trick** (the randomness is moved into eps ~ N(0, I), so gradients flow through
# mu and sigma); the loss is the reconstruction plus beta times the KL term.

# %%
import genzoo.losses as losses
import genzoo.models.vae as vae_module

lk.source(vae_module.VAE.training_step)
lk.source(losses.kl_to_standard_normal)

# %% [markdown]
# **The objective.** The VAE maximises the evidence lower bound (ELBO) on the log-likelihood of each image:
#
# $$\log p(x) \;\ge\; \underbrace{\mathbb{E}_{z \sim q(z|x)}\big[\log p(x|z)\big]}_{-\texttt{recon}}
# \;-\; \underbrace{\mathrm{KL}\big(q(z|x)\,\|\,p(z)\big)}_{\texttt{kl}} \;=\; \mathrm{ELBO}(x),
# \qquad q(z|x) = \mathcal{N}\big(\mu(x), \operatorname{diag}\sigma^2(x)\big),\; p(z) = \mathcal{N}(0, I).$$
#
# `training_step` minimises `loss = recon + beta * kl`, which is $-\mathrm{ELBO}$ for beta = 1:
# - `recon` is $-\log p(x|z)$ for a Bernoulli decoder, the cross-entropy summed over the 784 pixels
#   (`reconstruction_loss`), at **one** sample $z = \mu + \sigma \odot \varepsilon$, $\varepsilon \sim
#   \mathcal{N}(0, I)$ per image and step: a one-sample Monte Carlo estimate of the expectation;
# - `kl` is the KL term in closed form (`kl_to_standard_normal`, summed over the code's dimensions):
#
# $$\mathrm{KL}\big(\mathcal{N}(\mu, \sigma^2)\,\|\,\mathcal{N}(0, I)\big) = \tfrac12 \sum_{j=1}^{d}
# \big(\mu_j^2 + \sigma_j^2 - 1 - \log \sigma_j^2\big),$$
#
# with `logvar` $= \log\sigma^2$: `0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)`, then the mean
# over the batch. It is zero only when $\mu = 0$ and $\sigma = 1$. The reconstruction term wants codes
# that tell images apart; the KL term wants every code to be N(0, I). The trade-off between the two is
# the whole story of this lab.
#
# **Nats.** Both terms are measured in *nats*, the unit of information of the natural logarithm
# (1 nat = 1/ln 2, about 1.44 bits). The KL term counts how much the code says about the image beyond
# what the prior already says; a code that carries no information costs 0 nats.
#
# ## 2. Train a VAE and sample from the prior
# A VAE and an AE side by side, with lab 01's code size (16), the same budget (1 epoch each) and the
# same MLP backbone family. Not the same networks: each model keeps its own tuned
# defaults (printed below), so this comparison mixes the KL term with depth and learning rate. Where
# each model's codes lie is set by its loss, though: nothing in the AE's asks them to be near N(0, I).

# %%
vae = lk.train("vae", epochs=1, latent_dim=16, beta=1.0)
ae = lk.train("ae", epochs=1, latent_dim=16)


def hidden_widths(model):
    return [m.out_features for m in model.encoder.modules() if isinstance(m, torch.nn.Linear)][:-1]


for name, m in [("AE", ae), ("VAE", vae)]:
    print(f"{name}: encoder hidden levels {hidden_widths(m)}, learning rate {m.hparams.lr:g}")
g = torch.Generator().manual_seed(0)
eps = torch.randn(500, 16, generator=g)
with torch.no_grad():
    samples = {"AE": ae.decode(eps), "VAE": vae.decode(eps)}
prec = {k: lk.precision(v) for k, v in samples.items()}
mse = {"AE": lk.recon_mse(ae, x_test), "VAE": lk.recon_mse(vae, x_test)}
for k in samples:
    print(f"{k}: test MSE {mse[k]:.4f}, precision of N(0, I) samples {prec[k]:.2f}")
fig, axes = plt.subplots(1, 2, figsize=(11, 2.6))
for ax, k in zip(axes, samples):
    lk.show(samples[k][:32], nrow=16, ax=ax, title=f"{k}: decode(z), z ~ N(0, I) (precision {prec[k]:.2f})")
plt.tight_layout()
plt.show()
lk.show(torch.cat([x_test[:16], vae.reconstruct(x_test[:16])]), nrow=16, row_labels=["input", "VAE"],
        title=f"VAE: test inputs and reconstructions (MSE {mse['VAE']:.4f}; the AE's: {mse['AE']:.4f})")
lk.curves(vae, "VAE (beta = 1): the two terms of -ELBO while training, in nats per image")
kl_end = lk.read_metrics(vae)["kl"][1][-1]
lk.cite("kl_end", kl_end, "{:.0f}")

# %% [markdown]
# The same random codes that the AE decoded to a blob are digits for the VAE. The price is a little
# reconstruction error: the KL term spends some of the code's capacity on looking like N(0, I). The
# curves show the trade as it is made: `recon` falls while `kl` ends the run at {{kl_end}} nats per
# image, the information the codes carry about their images beyond the prior.
#
# ## 3. beta: sharpness against sample quality
# `beta` scales the KL term (`--model.beta`; beta > 1 is the beta-VAE of Higgins et al. 2017). A small
# beta is almost an AE: sharp reconstructions, codes that do not fill the prior. A large beta squeezes
# every q(z|x) onto N(0, I): the codes carry less about each image, and everything gets blurry.
# Sharpness is the variance of each image's Laplacian (a standard blur measure; real test digits: the
# last line printed below).

# %%
betas = [0.1, 1.0, 4.0, 16.0]
vaes = {b: lk.train("vae", epochs=1, latent_dim=16, beta=b) for b in betas}
rows, stats = [x_test[:10]], {}
for b, m in vaes.items():
    s = m.sample(500, generator=torch.Generator().manual_seed(0))
    stats[b] = dict(mse=lk.recon_mse(m, x_test), precision=lk.precision(s), sharp=lk.sharpness(s))
    rows += [m.reconstruct(x_test[:10]), s[:10]]
    print(f"beta {b:5.1f}: test MSE {stats[b]['mse']:.4f}, sample precision {stats[b]['precision']:.2f}, "
          f"sample sharpness {stats[b]['sharp']:.4f}")
print(f"real test digits: sharpness {lk.sharpness(x_test[:500]):.4f}")


def best(key):
    """The betas whose value of ``key`` is within 3% of the best one (ties are named together)."""
    top = max(stats[b][key] for b in betas)
    return [b for b in betas if stats[b][key] >= 0.97 * top]


def named(bs):
    return " and ".join(f"{b:g}" for b in bs)


sharpest, most_real = best("sharp"), best("precision")
lk.cite("sharpest", named(sharpest))
lk.cite("most_real", named(most_real))
for b in (0.1, 1.0, 16.0):
    lk.cite(f"prec_{b:g}".replace(".", "_"), stats[b]["precision"], "{:.2f}")
    lk.cite(f"mse_{b:g}".replace(".", "_"), stats[b]["mse"], "{:.4f}")

fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
for ax, key, label in zip(axes, ["mse", "sharp", "precision"],
                          ["test reconstruction MSE", "sample sharpness (Laplacian variance)", "sample precision"]):
    ax.plot(betas, [stats[b][key] for b in betas], "o-")
    ax.set_xscale("log")
    ax.set_xlabel("beta (weight of the KL term)")
    ax.set_ylabel(label)
    ax.grid(alpha=0.3)
axes[0].set_title("reconstruction error against beta")
axes[1].set_title(f"sharpest samples: beta = {named(sharpest)}")
axes[2].set_title(f"most digit-like samples: beta = {named(most_real)}")
plt.tight_layout()
plt.show()
labels = ["input"] + [f"{kind} b={b:g}" for b in betas for kind in ("recon", "sample")]
lk.show(torch.cat(rows), nrow=10, row_labels=labels, title="Reconstructions and prior samples for each beta", size=0.5)

# %% [markdown]
# Read the numbers and the rows. The reconstruction error grows with beta, from {{mse_0_1}} at
# beta = 0.1 to {{mse_16}} at beta = 16, where the code carries so little that reconstructions and
# samples are the same grey average digits (sample precision {{prec_16}}). The samples are sharpest at
# beta = {{sharpest}} and most digit-like at beta = {{most_real}} (values within 3% of the best are
# named together). Theory says a small beta leaves codes that do not fill the prior, the AE's problem of
# lab 01; at this short budget the sample precision at beta = 0.1 is {{prec_0_1}} against {{prec_1}} at
# beta = 1 (the ELBO itself), so judge from these two numbers, and the rows, how much of that shows yet.
#
# ## 4. The 2-D code plane
# With a 2-D code every point of the plane can be decoded. Because the codes now fill N(0, I), the
# central 98% of the prior (left) is covered by digits, with smooth transitions between classes, and
# the test codes (right) cover the grey prior samples instead of sitting in streaks.

# %%
vae2 = lk.train("vae", epochs=1, latent_dim=2)
z2 = lk.codes(vae2, x_test)
lk.plane_and_scatter(vae2, z2, y_test, "VAE, 2-D code: the decoded prior (left) and the test codes over it (right)",
                     box="prior", background=torch.randn(3000, 2))

# %% [markdown]
# Compare with lab 01's 2-D AE: there the codes had their own ranges and gaps; here they fill the
# N(0, I) disc, so every point in it decodes to something digit-like.
#
# ## Exercises
# Fill in the cells whose answer starts as `None`; each check cell says PASS or FAIL and why (the checks
# are in `checks.py`, beside this notebook). Solutions: `solutions/02_vae.ipynb`.
#
# ### Exercise 1: the reparameterisation trick
# Write `reparameterise(mu, logvar, eps)`: the sample z of N(mu, exp(logvar)) made from the standard
# normal noise `eps`, so that gradients reach `mu` and `logvar`. (Careful: `logvar` is log sigma^2.)

# %% tags=["exercise"]
def reparameterise(mu, logvar, eps):
    return None  # your code


# %% tags=["solution"]
def reparameterise(mu, logvar, eps):
    return mu + torch.exp(0.5 * logvar) * eps


# %%
import checks

checks.check_02_ex1(reparameterise)


# %% [markdown]
# ### Exercise 2: the KL term, by Monte Carlo
# The closed form of section 1 is an expectation: KL(q || p) = E_{z~q}[log q(z) - log p(z)]. Write
# `kl_monte_carlo(mu, logvar, n)`: estimate it from `n` reparameterised samples per row, summed over
# dimensions and averaged over rows, as `genzoo.losses.kl_to_standard_normal` does. The check compares
# your estimate with the closed form on the test codes' posteriors of the trained VAE.

# %% tags=["exercise"]
def kl_monte_carlo(mu, logvar, n=2000):
    return None  # your code: sample z ~ q, average log q(z) - log p(z)


# %% tags=["solution"]
def kl_monte_carlo(mu, logvar, n=2000):
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    z = q.rsample((n,))  # (n, B, D)
    return (q.log_prob(z) - p.log_prob(z)).sum(-1).mean()


# %%
with torch.no_grad():
    mu, logvar = vae.posterior(x_test[:64])  # the posteriors q(z|x) of 64 test images
checks.check_02_ex2(kl_monte_carlo, mu=mu, logvar=logvar)


# %% [markdown]
# ### Exercise 3: which code dimensions does beta switch off?
# The KL term is a sum over the code's dimensions, and the cheapest way to pay less of it is to stop
# using a dimension altogether: make q(z_j|x) = N(0, 1) for every image, so that z_j says nothing about
# x and costs 0 nats. Write `active_dims(mu, logvar, threshold=0.01)`: the number of dimensions j whose
# KL(q(z_j|x) || N(0, 1)), averaged over the rows (images), is above `threshold` nats. (Which terms of
# the closed form of section 1 belong to dimension j?) The check counts them on the posteriors of the
# sweep's four VAEs.
#
# **Think! (3 minutes)**, before you run the check: how many of the 16 dimensions do you expect each
# beta to keep, and how does that explain the rows of section 3 at beta = 16?

# %% tags=["exercise"]
def active_dims(mu, logvar, threshold=0.01):
    return None  # your code: an int


# %% tags=["solution"]
def active_dims(mu, logvar, threshold=0.01):
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)  # (N, D): each dimension's own KL term
    return int((kl.mean(0) > threshold).sum())


# %%
with torch.no_grad():
    sweep_posteriors = {f"beta {b:g}": m.posterior(x_test[:2000]) for b, m in vaes.items()}
checks.check_02_ex3(active_dims, posteriors=sweep_posteriors)

# %% [markdown]
# ## Summary
# - The VAE's loss is the negative ELBO: a reconstruction term and a KL term, both in nats; the KL term
#   has a closed form for Gaussians, and the reparameterisation trick lets gradients through the sampling.
# - Because the KL term pulls every q(z|x) towards N(0, I), decoding N(0, I) codes gives digits.
# - beta trades reconstruction against how closely the codes follow the prior; the sweep measures it,
#   and exercise 3 counts the code dimensions each beta leaves in use.
# - Next: the CVAE (lab 03) tells both networks the label, so the code keeps only the style.

# %%
lk.finish()
