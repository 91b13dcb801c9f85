"""Registered models; importing this package fills the MODELS registry."""

from genzoo.models.ae import AE
from genzoo.models.base import GenerativeModule, load_model
from genzoo.models.cvae import CVAE
from genzoo.models.vae import VAE

__all__ = ["AE", "CVAE", "VAE", "GenerativeModule", "load_model"]
