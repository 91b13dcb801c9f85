"""A benchmark evaluates each run on the data it trained on, and trains the same recipes from any folder."""

from __future__ import annotations

from pathlib import Path

import yaml
from helpers import make_anime_png

from genzoo.bench import Benchmark, BenchSpec
from genzoo.bench.spec import CHECKOUT, recipe_of
from genzoo.metrics.evaluation import Evaluator


def test_evaluation_uses_the_data_the_run_recorded(tmp_path: Path, monkeypatch) -> None:
    """The anime recipes train 32x32 images; the dataset's default is 64x64: the run's config.yaml decides."""
    out = tmp_path / "bench"
    run = out / "runs/gan/seed0/gan-anime/version_0"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints/last.ckpt").write_bytes(b"")
    recorded = {"root": str(tmp_path / "faces"), "size": 32, "cache_dir": str(tmp_path / "cache")}
    data = {"class_path": "genzoo.datamodules.anime.AnimeDataModule", "init_args": recorded}
    (run / "config.yaml").write_text(yaml.safe_dump({"data": data}))
    asked = []
    monkeypatch.setattr(Evaluator, "evaluate", lambda self, *args: asked.append(args) or {"seconds": {}})
    suite_root = make_anime_png(tmp_path / "suite_faces", 2)
    bench = Benchmark(BenchSpec(data="anime", models=["gan"], data_args={"root": str(suite_root)}), out)
    train = {"checkpoint": str(run.relative_to(out) / "checkpoints/last.ckpt"), "run_dir": str(run.relative_to(out))}
    bench.evaluate("gan", 0, train)
    ((checkpoint, data_name, root, _),) = asked
    assert (data_name, root) == (None, None)  # Evaluator then reads the run's config.yaml: size 32, its root


def test_recipes_are_found_from_another_working_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert recipe_of(BenchSpec(data="anime"), "aegan") == CHECKOUT / "experiments/recipes/anime/aegan.yaml"
    assert recipe_of(BenchSpec(data="anime"), "cvae") is None
