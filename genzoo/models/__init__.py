"""Registered models; importing this package fills the MODELS registry."""

from genzoo.models.ae import AE
from genzoo.models.alae import ALAE
from genzoo.models.base import GenerativeModule, load_model
from genzoo.models.cvae import CVAE
from genzoo.models.style_alae import StyleALAE
from genzoo.models.vae import VAE

__all__ = ["AE", "ALAE", "CVAE", "StyleALAE", "VAE", "GenerativeModule", "load_model"]
