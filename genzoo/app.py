"""``genzoo app --ckpt C [--port P] [--host H]``: a web page to explore a checkpoint, served on 127.0.0.1 unless
``--host`` says otherwise.

Sample from the prior, upload an image and see its reconstruction, interpolate between two images with a
slider, move sliders along the top principal directions of the test codes (and along attribute directions
where the data has labels), and pick the condition of a conditional model. Every picture comes from the
same operations as the ``genzoo`` commands (``genzoo.latent``); this file only lays out the page.

Gradio is an optional extra (``pip install 'genzoo[app]'``, or ``make test-app``). The page works with no
internet: analytics are off, the theme uses the system's fonts, nothing is shared.

The ``*_image`` functions take plain values and return (image (H, W, 3) uint8, message): the page shows
the message instead of a picture when the input is bad (an upload that is no image, a wrong size), and
tests call them directly or through ``gradio_client``. Every upload is checked by ``genzoo.uploads`` (format,
bytes, pixels from the header) before it is decoded.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from einops import rearrange

from genzoo.errors import GenzooError
from genzoo.latent import MODES, ops
from genzoo.latent.explorer import LatentExplorer, read_image
from genzoo.uploads import IMAGE_FORMATS, LOCAL_HOST, MAX_UPLOAD_BYTES, check_upload
from genzoo.viz import image_grid

NUM_PCS = 4  #: sliders along the top principal directions
SLIDER_RANGE = 3.0  #: each slider moves a code by up to this many standard deviations (attributes: differences)
OWN = "(the image's own)"
UPLOAD_TYPES = [f".{name.lower()}" for name in (*IMAGE_FORMATS, "jpg")]  #: what the file picker offers
DISPLAY_SIDE = 256  #: small images are shown enlarged (whole pixels) to about this size


def to_display(images: torch.Tensor, nrow: int) -> np.ndarray:
    """Images (N, C, H, W) in [0, 1] -> one grid (H', W', 3) uint8, enlarged by whole pixels."""
    grid = image_grid(images, nrow)  # (C, H', W')
    scale = max(1, DISPLAY_SIDE // max(images.shape[-1] * min(nrow, len(images)), images.shape[-2]))
    pixels = rearrange((grid.expand(3, -1, -1) * 255).round().byte(), "c h w -> h w c").numpy()
    return pixels.repeat(scale, 0).repeat(scale, 1)


def blank(message: str) -> tuple[None, str]:
    return None, f"**{message}**"


class ExplorerPage:
    """What the page computes, as plain functions over one ``LatentExplorer`` (no gradio needed)."""

    def __init__(self, explorer: LatentExplorer) -> None:
        self.explorer = explorer
        self.model = explorer.model
        self.has_encoder = bool(getattr(self.model, "has_encoder", True))
        self.conditional = bool(getattr(self.model, "conditional", False))
        self._attributes: dict[str, ops.Direction] = {}

    # ----- choices the page offers ----------------------------------------------------------------
    def condition_choices(self) -> list[str]:
        if not self.conditional:
            return []
        return ([OWN] if self.has_encoder else []) + self.explorer.class_names

    def attribute_choices(self) -> list[str]:
        """Attributes (multi-label) or classes (single-label) to make directions of; none without labels."""
        if not self.has_encoder:
            return []
        try:
            names = list(getattr(self.explorer.datamodule, "class_names", None) or [])
        except GenzooError:
            return []
        return names

    def pc_count(self) -> int:
        return min(NUM_PCS, int(self.model.latent_dim))

    # ----- inputs -------------------------------------------------------------------------------------
    def condition_spec(self, choice: str | None) -> str | None:
        """A condition picked on the page -> the CLI's --cond text (None: the image's own, or the default)."""
        if not self.conditional or not choice or choice == OWN:
            return None
        if self.explorer.multi_label:  # the picked attribute on, every other off
            return ",".join(f"{n}={int(n == choice)}" for n in self.explorer.class_names)
        return f"class={choice}"

    def start(self, index: float | None, upload: str | None, cond: str | None) -> tuple[torch.Tensor, Any]:
        """The code (1, D) and condition of one input: an uploaded image, a test image, or (GAN) a sample."""
        spec = self.condition_spec(cond)
        if not self.has_encoder:
            if upload:
                ops.require_encoder(self.model, "encode an uploaded image")
            z = self.model.prior_sample(1, torch.Generator().manual_seed(int(index or 0)))
            y = self.explorer.condition(spec, None, 1)
            return z, y
        if upload:
            x = self.upload_image(upload)[None].to(self.model.device)
            y = self.explorer.labels_for_files(spec, None, 1)
        else:
            x, labels, _ = self.explorer.images(str(int(index or 0)))
            y = self.explorer.condition(spec, labels, 1)
        c = ops.condition_vectors(self.model, y, 1)
        with torch.no_grad():
            return self.model.encode(x, c), y

    def condition_vector(self, y: Any, n: int) -> torch.Tensor | None:
        if not self.conditional:
            return None
        return ops.condition_vectors(self.model, y if y is not None else self.explorer.default_labels(n), n)

    # ----- the pictures ---------------------------------------------------------------------------------
    def guarded(self, make: Callable[[], np.ndarray], done: str = "") -> tuple[np.ndarray | None, str]:
        """Run ``make``; a problem with the input becomes a message on the page, never a stack trace."""
        try:
            return make(), done
        except GenzooError as err:
            return blank(str(err))

    def sample_image(self, seed: float, cond: str | None = None) -> tuple[np.ndarray | None, str]:
        def make() -> np.ndarray:
            n = 16
            spec = self.condition_spec(cond)
            y = self.explorer.condition(spec, None, n) if spec else None
            z = self.model.prior_sample(n, torch.Generator().manual_seed(int(seed or 0)))
            with torch.no_grad():
                return to_display(self.model.decode(z, self.condition_vector(y, n)), 4)

        return self.guarded(make, f"16 samples, seed {int(seed or 0)}")

    def reconstruct_image(self, index: float, upload: str | None, cond: str | None = None):
        def make() -> np.ndarray:
            ops.require_encoder(self.model, "reconstruct images")
            z, y = self.start(index, upload, cond)
            x = self.decode(z, y)
            source = self.upload_image(upload)[None] if upload else self.test_image(index)
            return to_display(torch.cat([source.to(x), x]), 2)

        return self.guarded(make, "left: the input; right: its reconstruction")

    def upload_image(self, upload: str) -> torch.Tensor:
        """An uploaded file as the model's input (C, H, W); checked before it is decoded."""
        check_upload(upload)
        return read_image(upload, tuple(self.model.image_shape))

    def test_image(self, index: float) -> torch.Tensor:
        return self.explorer.images(str(int(index or 0)))[0]

    def decode(self, z: torch.Tensor, y: Any) -> torch.Tensor:
        with torch.no_grad():
            return self.model.decode(z, self.condition_vector(y, len(z)))

    def interpolate_image(self, index_a: float, upload_a: str | None, index_b: float, upload_b: str | None,
                          t: float, mode: str = "lerp", cond: str | None = None):  # fmt: skip
        def make() -> np.ndarray:
            (z_a, y_a), (z_b, y_b) = self.start(index_a, upload_a, cond), self.start(index_b, upload_b, cond)
            z = ops.along(z_a, z_b, torch.tensor([float(t)]), mode)[:, 0]  # (1, D)
            c_a, c_b = self.condition_vector(y_a, 1), self.condition_vector(y_b, 1)
            with torch.no_grad():
                c = None if c_a is None else torch.lerp(c_a, c_b, float(t))
                return to_display(self.model.decode(z, c), 1)

        return self.guarded(make, f"{mode} at t = {float(t):.2f}")

    def attribute(self, name: str) -> ops.Direction:
        if name not in self._attributes:
            self._attributes[name] = self.explorer.attribute_direction(name)
        return self._attributes[name]

    def directions_image(self, index: float, upload: str | None, cond: str | None, attr: str | None,
                         attr_amount: float, *pcs: float):  # fmt: skip
        """The start code moved by ``pcs[k]`` standard deviations along principal direction k, and by
        ``attr_amount`` mean differences along the attribute ``attr``."""

        def make() -> np.ndarray:
            z, y = self.start(index, upload, cond)
            codes = self.explorer.test_codes[0]
            for k, amount in enumerate(pcs):
                if amount:
                    z = z + float(amount) * ops.pca_direction(codes, k).step.to(z)
            if attr and attr_amount:
                z = z + float(attr_amount) * self.attribute(attr).step.to(z)
            return to_display(self.decode(z, y), 1)

        moved = ", ".join(f"PC {k} {float(v):+.1f}" for k, v in enumerate(pcs) if v)
        if attr and attr_amount:
            moved = ", ".join(filter(None, [moved, f"{attr} {float(attr_amount):+.1f}"]))
        return self.guarded(make, moved or "the start code, unmoved")


def upload_box(gr: Any, label: str, **options: Any) -> Any:
    """A file upload of the page: images only (the picker offers them; ``check_upload`` makes sure)."""
    return gr.File(label=label, type="filepath", file_types=UPLOAD_TYPES, **options)


def build_app(explorer: LatentExplorer) -> Any:
    """The gradio Blocks of the explorer page (not launched)."""
    import gradio as gr

    page = ExplorerPage(explorer)
    name = type(page.model).__name__
    index_label = "test image index" if page.has_encoder else "prior sample seed"
    conditions = page.condition_choices()
    attributes = page.attribute_choices()
    with gr.Blocks(title=f"genzoo explorer: {name}", analytics_enabled=False) as demo:
        gr.Markdown(f"# genzoo explorer: {name}, {int(page.model.latent_dim)}-D codes")
        cond = gr.Dropdown(conditions, value=conditions[0] if conditions else None, label="condition",
                           visible=bool(conditions), elem_id="condition")  # fmt: skip
        with gr.Tab("Sample"):
            seed = gr.Number(0, precision=0, label="seed")
            sample_btn = gr.Button("Sample", elem_id="sample-button")
            sample_out, sample_msg = gr.Image(label="samples", format="png", elem_id="samples"), gr.Markdown()
            sample_btn.click(page.sample_image, [seed, cond], [sample_out, sample_msg], api_name="sample")
        with gr.Tab("Reconstruct", visible=page.has_encoder):
            with gr.Row():
                rec_index = gr.Number(0, precision=0, label=index_label)
                rec_upload = upload_box(gr, "or upload an image", elem_id="upload")
            rec_btn = gr.Button("Reconstruct", elem_id="reconstruct-button")
            rec_out, rec_msg = gr.Image(label="input | reconstruction", format="png"), gr.Markdown(elem_id="rec-msg")
            rec_btn.click(page.reconstruct_image, [rec_index, rec_upload, cond], [rec_out, rec_msg],
                          api_name="reconstruct")  # fmt: skip
        with gr.Tab("Interpolate"):
            with gr.Row():
                a_index = gr.Number(0, precision=0, label=f"start: {index_label}")
                a_upload = upload_box(gr, "or upload the start", visible=page.has_encoder)
                b_index = gr.Number(1, precision=0, label=f"end: {index_label}")
                b_upload = upload_box(gr, "or upload the end", visible=page.has_encoder)
            mode = gr.Radio(list(MODES), value="lerp", label="path")
            t = gr.Slider(0, 1, value=0.5, step=0.05, label="t (0: start, 1: end)", elem_id="t-slider")
            int_out, int_msg = gr.Image(label="decoded", format="png", elem_id="interpolation"), gr.Markdown()
            inputs = [a_index, a_upload, b_index, b_upload, t, mode, cond]
            for trigger in (t.release, mode.change, a_index.change, b_index.change, a_upload.change, b_upload.change):
                trigger(page.interpolate_image, inputs, [int_out, int_msg])
            gr.Button("Show", elem_id="interpolate-button").click(
                page.interpolate_image, inputs, [int_out, int_msg], api_name="interpolate"
            )
        with gr.Tab("Directions"):
            with gr.Row():
                d_index = gr.Number(0, precision=0, label=f"start: {index_label}")
                d_upload = upload_box(gr, "or upload the start", visible=page.has_encoder)
            pcs = [gr.Slider(-SLIDER_RANGE, SLIDER_RANGE, value=0, step=0.25, label=f"principal direction {k} (sd)",
                             elem_id=f"pc{k}") for k in range(page.pc_count())]  # fmt: skip
            attr = gr.Dropdown(attributes, value=attributes[0] if attributes else None, label="attribute direction",
                               visible=bool(attributes))  # fmt: skip
            attr_amount = gr.Slider(-2, 2, value=0, step=0.25, label="along the attribute (mean differences)",
                                    visible=bool(attributes), elem_id="attr-slider")  # fmt: skip
            dir_out, dir_msg = gr.Image(label="decoded", format="png", elem_id="directions"), gr.Markdown()
            inputs = [d_index, d_upload, cond, attr, attr_amount, *pcs]
            for slider in (*pcs, attr_amount):
                slider.release(page.directions_image, inputs, [dir_out, dir_msg])
            gr.Button("Show", elem_id="directions-button").click(
                page.directions_image, inputs, [dir_out, dir_msg], api_name="directions"
            )
        demo.load(page.sample_image, [seed, cond], [sample_out, sample_msg])
        demo.load(page.interpolate_image, [a_index, a_upload, b_index, b_upload, t, mode, cond], [int_out, int_msg])
        demo.load(page.directions_image, [d_index, d_upload, cond, attr, attr_amount, *pcs], [dir_out, dir_msg])
    return demo


def offline_theme() -> Any:
    """Gradio's default theme with the system's fonts: the default one loads fonts from the internet."""
    import gradio as gr

    system = ["ui-sans-serif", "system-ui", "sans-serif"]
    return gr.themes.Default(font=system, font_mono=["ui-monospace", "monospace"])


def serve(explorer: LatentExplorer, port: int, block: bool = True, host: str = LOCAL_HOST) -> Any:
    """Launch the page on host:port (default 127.0.0.1: this machine only); ``block=False`` returns at once
    (tests), with the Blocks. Gradio refuses larger uploads itself before saving them."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    demo = build_app(explorer)
    demo.queue()
    demo.launch(server_name=host, server_port=port, share=False, prevent_thread_lock=not block, quiet=not block,
                theme=offline_theme(), footer_links=[], ssr_mode=False, max_file_size=MAX_UPLOAD_BYTES)  # fmt: skip
    return demo
