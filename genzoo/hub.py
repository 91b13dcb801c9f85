"""genzoo models in the Hugging Face hub's format: ``GenzooPretrained`` is huggingface_hub's ``ModelHubMixin``
for an exported folder (``genzoo.exported``), so ``save_pretrained``, ``push_to_hub`` and ``from_pretrained``
work as for any hub model::

    from genzoo.hub import GenzooPretrained

    model = GenzooPretrained.from_pretrained("runs/vae-export").model  # a local folder, or a hub repository id
    GenzooPretrained(model).push_to_hub("me/genzoo-vae-mnist")

``genzoo export`` (``export_checkpoint``) writes the folder from a checkpoint. Needs the ``hub`` extra.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from huggingface_hub import ModelHubMixin, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError

from genzoo.errors import GenzooError
from genzoo.exported import (
    CONFIG_NAME,
    RUN_CONFIG_NAME,
    WEIGHTS_NAME,
    SavedModel,
    exported_config,
    weights_file,
    write_weights,
)
from genzoo.models.base import GenerativeModule
from genzoo.models.loading import load_model

MODEL_CARD = """---
{{ card_data }}
---

A genzoo `{{ genzoo_model }}` model: `model.safetensors` holds its weights, `config.json` what to build them
into{{ run_note }}. Neither format can run code when it is read.

Every genzoo command that takes a checkpoint takes this folder:

    genzoo sample --ckpt FOLDER --num 64 --out samples.png

In Python: `genzoo.hub.GenzooPretrained.from_pretrained(FOLDER_OR_REPO_ID).model`.
"""


class GenzooPretrained(
    ModelHubMixin,
    library_name="genzoo",
    tags=["genzoo", "generative-model", "autoencoder"],
    model_card_template=MODEL_CARD,
):
    """A genzoo model (``.model``) with the hub's save and load methods."""

    def __init__(self, model: GenerativeModule) -> None:
        self.model = model
        # save_pretrained and push_to_hub write this as config.json
        self._hub_mixin_config = exported_config(model)

    def _save_pretrained(self, save_directory: Path) -> None:
        write_weights(self.model, Path(save_directory) / WEIGHTS_NAME)

    def generate_model_card(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("genzoo_model", self._hub_mixin_config["genzoo_model"])
        kwargs.setdefault("run_note", "")
        return super().generate_model_card(*args, **kwargs)

    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id: str,
        revision: str | None,
        cache_dir: str | Path | None,
        force_download: bool,
        local_files_only: bool,
        token: str | bool | None,
        map_location: str = "cpu",
        **model_kwargs: Any,
    ) -> GenzooPretrained:
        folder = Path(model_id)
        if not folder.is_dir():
            download = partial(
                hf_hub_download,
                repo_id=model_id,
                revision=revision,
                cache_dir=cache_dir,
                force_download=force_download,
                local_files_only=local_files_only,
                token=token,
            )
            folder = Path(download(filename=WEIGHTS_NAME)).parent  # one revision's files share a folder
            download(filename=CONFIG_NAME)
            try:
                download(filename=RUN_CONFIG_NAME)
            except EntryNotFoundError:
                pass  # exported from a checkpoint outside a run folder: commands then need --data
        return cls(load_model(folder, map_location, flag="model"))


def export_checkpoint(ckpt: str | Path, out: Path, saved: SavedModel | None = None) -> list[str]:
    """Write the checkpoint (or exported folder) ``ckpt`` (``saved``: as ``read_saved`` read it) into the folder
    ``out``; the names written.

    The files are made in a temporary folder inside ``out`` and moved into place one by one, each whole,
    so an interrupted export leaves ``out`` as it was. An earlier export there is replaced; a model card
    already there (README.md) is kept.
    """
    from genzoo.checks import check_output_file
    from genzoo.runs import run_config_path

    model = load_model(saved or ckpt)
    run_config = run_config_path(weights_file(ckpt))
    earlier = (out / CONFIG_NAME).is_file()
    if earlier and not is_genzoo_config(out / CONFIG_NAME):
        raise GenzooError(f"--out {out} holds the {CONFIG_NAME} of something else; export into a new folder")
    made = [folder for folder in (out.parent, out) if not folder.exists()]  # removed again if left empty
    stage = out / ".tmp-export-unmade"
    try:
        if out.parent in made and out.parent.parent.is_dir():
            out.parent.mkdir()  # one missing level above the folder, as for a file output's folder
        check_output_file(out / WEIGHTS_NAME, "--out")  # makes the folder; tries a file in it for real
        stage = Path(tempfile.mkdtemp(dir=out, prefix=".tmp-export-"))
        note = f"; `{RUN_CONFIG_NAME}` the run that trained it (its data)" if run_config else ""
        GenzooPretrained(model).save_pretrained(stage, model_card_kwargs={"run_note": note})
        if run_config is not None:
            shutil.copyfile(run_config, stage / RUN_CONFIG_NAME)
        written = []
        for name in (RUN_CONFIG_NAME, CONFIG_NAME, WEIGHTS_NAME, "README.md"):
            if (stage / name).is_file() and not (name == "README.md" and (out / name).exists()):
                os.replace(stage / name, out / name)
                written.append(name)
        if run_config is None and earlier:
            (out / RUN_CONFIG_NAME).unlink(missing_ok=True)  # the earlier export's run, not this model's
        return written
    except OSError as err:
        raise GenzooError(f"--out {out}: could not write the export ({err.strerror or err})") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        for folder in reversed(made):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


def is_genzoo_config(path: Path) -> bool:
    """Whether ``path`` is the config.json of an earlier export (which an export may replace)."""
    import json

    try:
        config = json.loads(path.read_text())
    except (ValueError, OSError):
        return False
    return isinstance(config, dict) and "genzoo_model" in config
