"""What ``genzoo app`` accepts from a visitor: an upload is checked here before anything decodes it, and the
address the app listens on is judged here. No gradio and no torch: these checks are tested everywhere.

An upload must be an image (one of ``IMAGE_FORMATS``, told by its content, not its name) of at most
``MAX_UPLOAD_BYTES`` bytes and ``MAX_UPLOAD_PIXELS`` pixels. The pixel count is read from the header, so a
decompression bomb (a small file that decodes into gigabytes) is refused without being decoded.
"""

from __future__ import annotations

import ipaddress
import warnings
from pathlib import Path

from genzoo.errors import GenzooError

#: formats PIL may open an upload as; anything else (PDF, PSD, EPS, which runs Ghostscript) is refused
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
MAX_UPLOAD_BYTES = 10 * 2**20  # far more than any image a genzoo model takes (64x64 RGB: 12 KiB raw)
MAX_UPLOAD_PIXELS = 4096 * 4096  # all frames together; a model image is at most a few thousand pixels
LOCAL_HOST = "127.0.0.1"  #: where the app listens by default: this machine only (the page has no login)
LOOPBACK_NAMES = ("localhost",)


def check_upload(path: str | Path, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_UPLOAD_PIXELS) -> None:
    """Refuse, in one line and reading only the file's header, an upload that is not an image of an allowed
    format or is larger than the limits."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise GenzooError(f"the upload {path.name} cannot be read ({err.strerror}); upload it again") from None
    if size > max_bytes:
        raise GenzooError(
            f"the upload {path.name} is {size / 2**20:.1f} MiB, more than the {max_bytes / 2**20:g} MiB an upload "
            "may be; give a smaller image"
        )
    try:
        with warnings.catch_warnings():  # PIL's own bomb warning would go to the server's log; ours is the error
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path, formats=IMAGE_FORMATS) as im:  # parses the header; pixels are decoded later
                width, height = im.size
                frames = getattr(im, "n_frames", 1)
    except Image.DecompressionBombError:  # PIL's own limit, far above ours, refused it as it opened
        raise too_large(path.name, "too many", max_pixels) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        formats = f"{', '.join(IMAGE_FORMATS[:-1])} or {IMAGE_FORMATS[-1]}"
        raise GenzooError(f"the upload {path.name} is not an image; give a {formats} file") from None
    if width * height * frames > max_pixels:
        raise too_large(path.name, f"{width}x{height}" + (f" x {frames} frames of" if frames > 1 else ""), max_pixels)


def too_large(name: str, held: str, max_pixels: int) -> GenzooError:
    return GenzooError(
        f"the upload {name} holds {held} pixels, more than the {max_pixels:,} an upload may have "
        "(a decompression bomb is refused unread); give a smaller image"
    )


def is_exposed(host: str) -> bool:
    """Whether serving on ``host`` lets other machines connect: anything but a loopback address."""
    if host.lower() in LOOPBACK_NAMES:
        return False
    try:
        return not ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return True  # a host name other than localhost: it may resolve to any interface


def exposure_warning(host: str, port: int) -> str | None:
    """The warning to print before serving on a non-loopback ``host``; None for a local one."""
    if not is_exposed(host):
        return None
    return (
        f"genzoo app: warning: serving on {host}:{port} exposes the app to other machines; anyone who can reach "
        "it can use it (there is no login) and upload files. Use --host 127.0.0.1 to keep it on this machine"
    )
