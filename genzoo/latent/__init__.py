"""The latent toolkit: interpolations, traversals and maps of the code space for every genzoo model.

- ``ops``: tensor operations over the base API (``encode``, ``decode``, ``prior_sample``);
- ``pictures``: ``Picture`` (images, codes, how to draw them) and the builders shared by the commands,
  the training callback (``genzoo.latent.callback.LatentPictures``) and the web explorer (``genzoo.app``);
- ``figures``: the drawing (titled grids, the 2-D plane and scatter, projections with thumbnails);
- ``explorer``: ``LatentExplorer``, a checkpoint and its data, turning user input into pictures.

See docs/latent.md. This file imports nothing, so the commands can name the modes without loading torch.
"""

#: the paths ``ops.interpolate`` walks: a straight line, or a great circle (slerp)
MODES: tuple[str, ...] = ("lerp", "slerp")
