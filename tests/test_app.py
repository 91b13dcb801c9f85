"""The web explorer (`genzoo app`): its functions through gradio_client, and the page in a real headless
Chromium (a slider move changes the picture, a screenshot is not blank). Skipped, with the reason, where
gradio, gradio_client, playwright or Chromium are not installed: `make test-app` installs them."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

gradio = pytest.importorskip("gradio", reason="the explorer needs the genzoo[app] extra (make test-app)")
gradio_client = pytest.importorskip("gradio_client", reason="gradio_client comes with genzoo[app] (make test-app)")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tiny_checkpoints) -> dict[str, str]:
    """The explorers of a VAE and a CVAE (conditional) and a GAN (no encoder), each on its own port."""
    from genzoo.app import serve
    from genzoo.commands.latent_args import open_explorer

    torch.set_num_threads(1)
    urls, demos = {}, []
    for name in ("vae", "cvae", "gan"):
        port = free_port()
        demos.append(serve(open_explorer(tiny_checkpoints[name]), port, block=False))
        urls[name] = f"http://127.0.0.1:{port}/"
    yield urls
    for demo in demos:
        demo.close()


def client(url: str):
    return gradio_client.Client(url, verbose=False, download_files=True)


def read(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_functions_through_gradio_client(served, tmp_path: Path) -> None:
    vae = client(served["vae"])
    image, message = vae.predict(0, None, api_name="/sample")
    assert "16 samples" in message and read(image).std() > 5
    image, message = vae.predict(3, None, None, api_name="/reconstruct")
    assert "reconstruction" in message and read(image).shape[1] > read(image).shape[0]
    (tmp_path / "notes.png").write_text("not an image")
    Image.fromarray(np.zeros((64, 64), dtype=np.uint8)).save(tmp_path / "big.png")
    for upload, fragment in [("notes.png", "is not an image"), ("big.png", "64x64 pixels; this model takes 28x28")]:
        image, message = vae.predict(
            0, gradio_client.handle_file(str(tmp_path / upload)), None, api_name="/reconstruct"
        )
        assert image is None and fragment in message and "Traceback" not in message
    ends = [vae.predict(0, None, 1, None, t, "slerp", None, api_name="/interpolate")[0] for t in (0.0, 1.0)]
    assert not np.array_equal(read(ends[0]), read(ends[1]))
    moved = [vae.predict(0, None, None, "7", 0, v, 0, 0, 0, api_name="/directions")[0] for v in (-2.0, 2.0)]
    assert not np.array_equal(read(moved[0]), read(moved[1]))
    # A conditional model decodes under the picked condition; a GAN samples and says what it cannot do.
    cvae = client(served["cvae"])
    digits = [read(cvae.predict(0, d, api_name="/sample")[0]) for d in ("3", "8")]
    assert not np.array_equal(*digits)
    image, message = client(served["gan"]).predict(0, None, None, api_name="/reconstruct")
    assert image is None and "GAN has no encoder" in message


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium here: make test-app installs Debian's chromium package")
def test_page_in_headless_chromium(served, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright comes with make test-app")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(served["vae"], wait_until="networkidle")
        page.wait_for_selector("#samples img", timeout=30_000)
        shot = tmp_path / "page.png"
        page.screenshot(path=str(shot), full_page=True)
        pixels = read(str(shot))
        assert pixels.std() > 10 and (pixels < 128).mean() > 0.01  # text and samples, not an empty page
        page.get_by_role("tab", name="Directions").click()
        picture = page.locator("#directions img")
        picture.wait_for(timeout=30_000)
        before = picture.get_attribute("src")
        # Drag the first principal-direction slider as a user does: press on its knob, move right, let go.
        box = page.locator("#pc0 input[type=range]").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] / 2, steps=5)
        page.mouse.up()
        page.wait_for_function(
            "before => { const img = document.querySelector('#directions img'); return img && img.src !== before; }",
            arg=before, timeout=30_000,
        )  # fmt: skip
        assert picture.get_attribute("src") != before
        assert float(page.locator("#pc0 input[type=number]").input_value()) > 1
        page.screenshot(path=str(tmp_path / "directions.png"), full_page=True)
        browser.close()
