"""The table of ``genzoo`` commands: name -> the function that runs it, with a one-line summary.

Each command lives in its own module and is imported only when it runs, so ``genzoo --help`` and a
mistyped command answer without loading torch. A command function takes the remaining arguments and
returns an exit code; a problem with the user's input raises ``GenzooError`` (one line, exit code 2).
The Lightning commands (fit, validate, test) are one entry point, ``genzoo.cli.main.lightning_command``.
"""

from __future__ import annotations

from genzoo.registry import Registry

COMMANDS: Registry = Registry("command")
COMMANDS.add("fit", "genzoo.cli.main:lightning_command", "train a model: genzoo fit --model vae --data mnist")
COMMANDS.add("validate", "genzoo.cli.main:lightning_command", "validation metrics of a checkpoint (--ckpt_path)")
COMMANDS.add("test", "genzoo.cli.main:lightning_command", "test metrics of a checkpoint (--ckpt_path)")
COMMANDS.add("list", "genzoo.commands.listing:list_command", "the registered models, backbones and datasets")
COMMANDS.add("sample", "genzoo.commands.sample:sample_command", "new images from a checkpoint (.png grid or .npz)")
COMMANDS.add("edit", "genzoo.commands.edit:edit_command", "attribute-editing strips from a checkpoint")
COMMANDS.add("eval", "genzoo.commands.evaluate:evaluate_command", "every metric of a checkpoint, as JSON")
COMMANDS.add("bench", "genzoo.commands.bench:bench_command", "train and evaluate several models; one table")
COMMANDS.add("reconstruct", "genzoo.commands.reconstruct:reconstruct_command", "inputs above their reconstructions")
COMMANDS.add("interpolate", "genzoo.commands.interpolate:interpolate_command", "walks between two codes (lerp, slerp)")
COMMANDS.add("traverse", "genzoo.commands.traverse:traverse_command", "codes moved along a dimension or direction")
COMMANDS.add("explore", "genzoo.commands.explore:explore_command", "a map of the code space, with labels")
COMMANDS.add("export", "genzoo.commands.export:export_command", "a checkpoint as safetensors + config.json, to share")
COMMANDS.add("app", "genzoo.commands.app:app_command", "the web explorer on 127.0.0.1 (needs genzoo[app])")

#: commands LightningCLI runs; they take the full argument list, subcommand included
LIGHTNING_COMMANDS = ("fit", "validate", "test")
