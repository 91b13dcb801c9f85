"""genzoo: a zoo of generative autoencoders and adversarial models on PyTorch Lightning."""

__version__ = "0.1.0"
