"""Screenshot of `genzoo app` for docs/latent.md: the Directions tab after a slider move, in headless Chromium.

    python experiments/app_screenshot.py CKPT [--out docs/images/latent/app_directions.png]

Needs the genzoo[app] extra, playwright and Debian's chromium (make test-app installs them).
"""

from __future__ import annotations

import argparse
import shutil
import socket
from pathlib import Path

from genzoo.app import serve
from genzoo.commands.latent_args import open_explorer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("ckpt")
    parser.add_argument("--out", type=Path, default=Path("docs/images/latent/app_directions.png"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = serve(open_explorer(args.ckpt), port, block=False)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 900, "height": 700})
            page.goto(f"http://127.0.0.1:{port}/", wait_until="networkidle")
            page.get_by_role("tab", name="Directions").click()
            page.locator("#directions img").wait_for()
            page.locator("#pc0 input[type=number]").fill("2")
            page.locator("#pc0 input[type=number]").press("Enter")
            box = page.locator("#pc1 input[type=range]").bounding_box()
            page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] / 2)
            page.wait_for_timeout(2000)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=True)
            browser.close()
    finally:
        demo.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
