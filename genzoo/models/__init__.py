"""The models of the zoo, for `from genzoo.models import VAE`; the registry finds them by name without this."""

from genzoo.models.aae import AAE
from genzoo.models.ae import AE
from genzoo.models.aegan import AEGAN
from genzoo.models.alae import ALAE
from genzoo.models.base import GenerativeModule
from genzoo.models.cvae import CVAE
from genzoo.models.gan import GAN
from genzoo.models.loading import load_model
from genzoo.models.style_alae import StyleALAE
from genzoo.models.vae import VAE
from genzoo.models.wae import WAE

__all__ = ["AAE", "AE", "AEGAN", "ALAE", "CVAE", "GAN", "StyleALAE", "VAE", "WAE", "GenerativeModule", "load_model"]
