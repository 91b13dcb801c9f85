"""The web explorer (`genzoo app`).

What it accepts runs everywhere: uploads are checked from their header (an image of an allowed format,
limited in bytes and pixels: a decompression bomb is refused unread), and it listens on 127.0.0.1 unless
--host says otherwise, with a warning when other machines can reach it. Its functions through gradio_client,
and the page in a real headless Chromium (a slider move changes the picture, a screenshot is not blank), are
skipped, with the reason, where gradio, gradio_client, playwright or Chromium are not installed: `make
test-app` installs them."""

from __future__ import annotations

import shutil
import socket
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import assert_one_line_error, build_model, cli_here, handmade_checkpoint
from PIL import Image

from genzoo.errors import GenzooError
from genzoo.uploads import MAX_UPLOAD_BYTES, MAX_UPLOAD_PIXELS, check_upload, exposure_warning, is_exposed

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def png_header(path: Path, width: int, height: int) -> Path:
    """A PNG that says it is ``width`` x ``height`` grey pixels and holds almost none: a decompression bomb's
    header, without the bomb (the checks must refuse it from the header alone)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


def test_uploads_are_checked_from_their_header(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((28, 28), dtype=np.uint8)).save(tmp_path / "ok.png")
    check_upload(tmp_path / "ok.png")
    (tmp_path / "notes.png").write_text("not an image")
    Image.fromarray(np.zeros((28, 28), dtype=np.uint8)).save(tmp_path / "scan.png", format="TIFF")  # by content
    (tmp_path / "huge.png").write_bytes(b"\0" * (MAX_UPLOAD_BYTES + 1))
    side = int(MAX_UPLOAD_PIXELS**0.5) + 1
    cases = [
        ("notes.png", "the upload notes.png is not an image; give a PNG, JPEG, GIF, BMP or WEBP file"),
        ("scan.png", "the upload scan.png is not an image"),
        ("huge.png", "the upload huge.png is 10.0 MiB, more than the 10 MiB an upload may be"),
        (png_header(tmp_path / "wide.png", side, side).name, f"holds {side}x{side} pixels, more than the 16,777,216"),
        (png_header(tmp_path / "bomb.png", 100_000, 100_000).name, "holds too many pixels, more than the 16,777,216"),
    ]
    for name, message in cases:
        with pytest.raises(GenzooError, match=message):
            check_upload(tmp_path / name)


def test_the_page_refuses_a_bomb_before_decoding_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An upload reaches the model only through the check: a bomb is a message on the page, never decoded."""
    from genzoo.app import ExplorerPage
    from genzoo.latent.explorer import LatentExplorer

    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda im: decoded.append(im.size))
    page = ExplorerPage(LatentExplorer(build_model("ae")))
    image, message = page.reconstruct_image(0, str(png_header(tmp_path / "bomb.png", 100_000, 100_000)))
    assert image is None and "holds too many pixels" in message and "Traceback" not in message
    assert decoded == []


def test_the_app_listens_on_this_machine_unless_told(tmp_path, capsys, monkeypatch) -> None:
    """127.0.0.1 by default; another --host is served as asked, with a warning when it is reachable."""
    import genzoo.app

    assert not any(is_exposed(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"))
    assert all(is_exposed(h) for h in ("0.0.0.0", "::", "192.168.1.20", "myhost.example.org"))
    assert exposure_warning("127.0.0.1", 7860) is None
    served = []
    import importlib.util

    real_find_spec = importlib.util.find_spec  # as if gradio were installed: the page itself is faked below
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: object() if name == "gradio" else real_find_spec(name, *a)
    )
    monkeypatch.setattr(genzoo.app, "serve", lambda explorer, port, host: served.append(host))
    ckpt = handmade_checkpoint(tmp_path / "ae.ckpt", "ae")
    quiet = cli_here(capsys, monkeypatch, "app", "--ckpt", str(ckpt))
    exposed = cli_here(capsys, monkeypatch, "app", "--ckpt", str(ckpt), "--host", "0.0.0.0", "--port", "8000")
    assert quiet.returncode == exposed.returncode == 0 and served == ["127.0.0.1", "0.0.0.0"]
    assert "warning" not in quiet.stderr and "http://127.0.0.1:7860" in quiet.stderr
    assert exposure_warning("0.0.0.0", 8000) in exposed.stderr.splitlines()
    assert "exposes the app to other machines" in exposed.stderr and "--host 127.0.0.1" in exposed.stderr
    monkeypatch.undo()
    assert_one_line_error(cli_here(capsys, monkeypatch, "app", "--ckpt", str(ckpt), "--port", "0"), "--port")


@pytest.fixture(scope="module")
def gradio_client():
    pytest.importorskip("gradio", reason="the explorer needs the genzoo[app] extra (make test-app)")
    return pytest.importorskip("gradio_client", reason="gradio_client comes with genzoo[app] (make test-app)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tiny_checkpoints, gradio_client) -> dict[str, str]:
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


def client(gradio_client, url: str):
    return gradio_client.Client(url, verbose=False, download_files=True)


def read(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_functions_through_gradio_client(served, gradio_client, tmp_path: Path) -> None:
    vae = client(gradio_client, served["vae"])
    image, message = vae.predict(0, None, api_name="/sample")
    assert "16 samples" in message and read(image).std() > 5
    image, message = vae.predict(3, None, None, api_name="/reconstruct")
    assert "reconstruction" in message and read(image).shape[1] > read(image).shape[0]
    (tmp_path / "notes.png").write_text("not an image")
    Image.fromarray(np.zeros((64, 64), dtype=np.uint8)).save(tmp_path / "big.png")
    png_header(tmp_path / "bomb.png", 100_000, 100_000)
    uploads = [("notes.png", "is not an image"), ("big.png", "64x64 pixels; this model takes 28x28"),
               ("bomb.png", "holds too many pixels")]  # fmt: skip
    for upload, fragment in uploads:
        image, message = vae.predict(
            0, gradio_client.handle_file(str(tmp_path / upload)), None, api_name="/reconstruct"
        )
        assert image is None and fragment in message and "Traceback" not in message
    ends = [vae.predict(0, None, 1, None, t, "slerp", None, api_name="/interpolate")[0] for t in (0.0, 1.0)]
    assert not np.array_equal(read(ends[0]), read(ends[1]))
    moved = [vae.predict(0, None, None, "7", 0, v, 0, 0, 0, api_name="/directions")[0] for v in (-2.0, 2.0)]
    assert not np.array_equal(read(moved[0]), read(moved[1]))
    # A conditional model decodes under the picked condition; a GAN samples and says what it cannot do.
    cvae = client(gradio_client, served["cvae"])
    digits = [read(cvae.predict(0, d, api_name="/sample")[0]) for d in ("3", "8")]
    assert not np.array_equal(*digits)
    image, message = client(gradio_client, served["gan"]).predict(0, None, None, api_name="/reconstruct")
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
