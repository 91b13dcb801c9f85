"""Protocol cards: everything needed to reproduce (or reject) a number.

A FID of 12 means nothing without the feature network, the number of samples, the reference images and
the seed behind it. Every evaluation result carries a card with those, the checkpoint's checksum, and
the versions of the packages that computed it.
"""

from __future__ import annotations

import platform
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

import torch

PACKAGES = ("genzoo", "torch", "torchvision", "torchmetrics", "pytorch-lightning", "numpy", "torch-fidelity")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a result depends on ("absent" for one not installed)."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def protocol_card(**fields: Any) -> dict[str, Any]:
    """The card: the caller's fields (extractors, samples, reference split, seed, ...) plus the environment."""
    device = fields.pop("device", "cpu")
    return {
        **fields,
        "device": torch.cuda.get_device_name(0) if str(device).startswith("cuda") else f"cpu ({platform.machine()})",
        "torch_threads": torch.get_num_threads(),
        "versions": package_versions(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
