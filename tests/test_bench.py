"""genzoo bench: two tiny models, one seed, a small budget; then the resume paths and the error paths."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from genzoo.bench.records import mean_std
from genzoo.bench.run import training_summary
from genzoo.bench.spec import BenchSpec, fit_arguments, format_max_time, model_arguments, recipe_of, resolve_models
from genzoo.cli import main
from genzoo.registry import MODELS

SUITE = {
    "data": "mnist",
    "models": ["ae", "vae"],
    "seeds": [0],
    "max_epochs": 1,
    "max_time_s": 120,
    "trainer_args": {"limit_train_batches": 10, "limit_val_batches": 2, "num_sanity_val_steps": 0},
    "eval": {"num_samples": 200, "reference_size": 400, "probe_train_size": 400, "device": "cpu"},
}


def run_bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "genzoo.cli", "bench", *args], capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, Path]:
    """A benchmark of ae and vae run once through the CLI: (suite file, results folder)."""
    folder = tmp_path_factory.mktemp("bench")
    suite = folder / "suite.yaml"
    suite.write_text(yaml.safe_dump(SUITE))
    out = folder / "results"
    done = run_bench("--suite", str(suite), "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| ae | 1 |" in done.stdout and "| vae | 1 |" in done.stdout  # the table is printed
    return suite, out


@pytest.mark.slow  # starts genzoo processes
def test_bench_writes_every_report(finished) -> None:
    _, out = finished
    for name in ("results.csv", "results.json", "table.md", "bench.json"):
        assert (out / name).is_file(), name
    for name in ("metrics.png", "samples.png", "curves.png"):
        assert (out / "plots" / name).stat().st_size > 5000, name
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [r["model"] for r in rows] == ["ae", "vae"]
    for row in rows:
        assert float(row["images_per_s"]) > 0 and float(row["fit_wall_s"]) > 0
        assert float(row["fid"]) > 0 and 0 <= float(row["precision"]) <= 1
        assert row["extractor"] == "mnist_classifier"
    results = json.loads((out / "results.json").read_text())
    assert results["missing"] == [] and set(results["summary"]) == {"ae", "vae"}
    table = (out / "table.md").read_text()
    assert "train img/s" in table and "FID" in table and "## Protocol" in table and "mnist_classifier" in table
    record = json.loads((out / "records" / "ae-seed0.json").read_text())
    assert record["train"]["command"][:2] == ["genzoo", "fit"] and "--seed_everything" in record["train"]["command"]
    assert record["train"]["epochs"] == 1 and record["train"]["images_seen"] == 10 * 128
    assert (out / record["train"]["run_dir"] / "samples.png").is_file()


@pytest.mark.slow  # starts genzoo processes
def test_bench_resumes_instead_of_starting_over(finished) -> None:
    suite, out = finished
    records = out / "records"
    ae_record = (records / "ae-seed0.json").read_text()
    # vae: trained but not evaluated (its record lost); it must be evaluated only, not retrained.
    (records / "vae-seed0.json").unlink()
    vae_train = out / "runs" / "vae" / "seed0" / "train.json"
    trained_at = vae_train.stat().st_mtime
    done = run_bench("--suite", str(suite), "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "[ae seed 0] done before; skipping" in done.stderr
    assert "[vae seed 0] trained before; evaluating" in done.stderr
    assert (records / "ae-seed0.json").read_text() == ae_record
    assert vae_train.stat().st_mtime == trained_at and (records / "vae-seed0.json").is_file()


@pytest.mark.slow  # starts genzoo processes
def test_bench_refuses_to_mix_protocols(finished) -> None:
    suite, out = finished
    assert main(["bench", "--suite", str(suite), "--out", str(out), "--num-samples", "100"]) == 2


@pytest.mark.slow  # starts genzoo processes
def test_bench_report_only_rewrites_the_table(finished) -> None:
    suite, out = finished
    (out / "table.md").unlink()
    assert main(["bench", "--suite", str(suite), "--out", str(out), "--report-only"]) == 0
    assert "| vae | 1 |" in (out / "table.md").read_text()


@pytest.mark.slow  # starts genzoo processes
def test_failed_run_is_recorded_not_fatal(tmp_path) -> None:
    from genzoo.bench import Benchmark

    # An impossible model flag makes `genzoo fit` itself fail: the benchmark records why and goes on.
    failing = BenchSpec(models=["ae"], seeds=[0], max_epochs=1, model_args={"ae": {"latent_dim": "many"}})
    bench = Benchmark(failing, tmp_path / "failing", log=lambda msg: None)
    assert bench.run() == ["ae/seed0"]
    failure = json.loads((tmp_path / "failing" / "records" / "ae-seed0.failed.json").read_text())
    assert "genzoo fit exited with code 2" in failure["error"] and "latent_dim" in failure["error"]
    assert "Missing runs (failed or not yet run): ae/seed0" in (tmp_path / "failing" / "table.md").read_text()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--models", "ae", "--max-epochs", "0", "--max-time", "0"], "give a budget"),
        (["--models", "nope", "--max-epochs", "1"], "unknown model 'nope'"),
        (["--data", "nope", "--max-epochs", "1"], "unknown dataset 'nope'"),
        (["--seeds", "a,b", "--max-epochs", "1"], "expected comma-separated whole numbers"),
        (["--max-time", "-5"], "must be at least 0"),
        (["--suite", "no/such.yaml"], "does not exist"),
        (["--suite", "{bad_key}"], "unknown key(s) epochs"),
        (["--suite", "{empty}"], "is empty; give at least one setting"),
        (["--suite", "{bad_eval}", "--max-epochs", "1"], "unknown setting(s) samples"),
        (["--models", "ae", "--max-epochs", "1", "--metrics", "fid"], "unknown group(s) fid"),
    ],
)
def test_bench_errors_are_one_line_with_exit_code_2(args, message, tmp_path, capsys) -> None:
    bad_key, bad_eval = tmp_path / "bad_key.yaml", tmp_path / "bad_eval.yaml"
    bad_key.write_text("epochs: 3\n")
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing set\n")
    bad_eval.write_text("eval:\n  samples: 3\n")
    files = {"bad_key": bad_key, "bad_eval": bad_eval, "empty": empty}
    argv = ["bench", *[a.format(**files) for a in args], "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


# ----- pieces ------------------------------------------------------------------------------------
def test_all_models_means_every_model_that_fits_the_data() -> None:
    everything = resolve_models(BenchSpec(models=["all"]))
    assert everything == MODELS.names()  # MNIST has labels: conditional models included
    assert resolve_models(BenchSpec(models=["vae", "ae", "vae"])) == ["vae", "ae"]


def test_fit_arguments_carry_the_budget_and_seed(tmp_path) -> None:
    spec = BenchSpec(models=["vae"], max_epochs=None, max_time_s=90, model_args={"vae": {"hidden_dims": [64]}})
    args = fit_arguments(spec, "vae", 3, tmp_path)
    assert args[0] == "fit" and "--seed_everything" in args and args[args.index("--seed_everything") + 1] == "3"
    assert "--trainer.max_time=00:00:01:30" in args and "--trainer.max_epochs=-1" in args
    assert "--model.hidden_dims=[64]" in args and f"--trainer.default_root_dir={tmp_path}" in args
    assert format_max_time(90061) == "01:01:01:01"


def test_recipe_patterns_are_tried_in_order(monkeypatch) -> None:
    """A GPU suite's ``{model}_gpu.yaml`` wins where it exists; the plain recipe is next; else none."""
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    suite = yaml.safe_load(Path("experiments/suites/anime_gpu.yaml").read_text())
    gpu = BenchSpec(data="anime", recipe=suite["recipe"])
    assert recipe_of(gpu, "aegan") == Path("experiments/recipes/anime/aegan_gpu.yaml")  # 64x64, not the CPU 32x32
    assert recipe_of(gpu, "vae") == Path("experiments/recipes/anime/vae.yaml")
    assert recipe_of(gpu, "cvae") is None
    assert recipe_of(BenchSpec(data="anime"), "aegan") == Path("experiments/recipes/anime/aegan.yaml")
    assert recipe_of(BenchSpec(data="anime", recipe=None), "aegan") is None


def test_training_summary_and_mean_std() -> None:
    rows = [
        {"epoch": 0, "step": 9, "throughput/images_per_s": 100.0, "throughput/train_seconds": 2.0},
        {"epoch": 0, "step": 9, "val/recon_mse": 0.5},
        {"epoch": 1, "step": 19, "throughput/images_per_s": 300.0, "throughput/train_seconds": 2.0},
    ]
    summary = training_summary(rows)
    assert summary["images_per_s"] == pytest.approx(200.0) and summary["images_seen"] == 800
    assert summary["epochs"] == 2 and summary["val_recon_mse"] == 0.5
    assert mean_std([1.0, 3.0]) == (2.0, pytest.approx(2**0.5)) and mean_std([None]) is None


def test_suite_model_args_for_all_go_to_the_models_that_take_them() -> None:
    spec = BenchSpec(model_args={"all": {"backbone": "conv", "latent_dim": 4}, "vae": {"latent_dim": 6}})
    assert model_arguments(spec, "ae") == {"backbone": "conv", "latent_dim": 4}
    assert model_arguments(spec, "vae") == {"backbone": "conv", "latent_dim": 6}  # its own entry wins
    assert model_arguments(spec, "style_alae") == {"latent_dim": 4}  # StyleALAE has no backbone argument


@pytest.mark.slow  # starts genzoo processes
def test_interrupted_pair_continues_from_its_checkpoint(tmp_path) -> None:
    """A (model, seed) whose fit was killed after an epoch resumes from last.ckpt instead of starting over."""
    from genzoo.bench import Benchmark

    spec = BenchSpec(models=["ae"], seeds=[0], max_epochs=2, trainer_args=SUITE["trainer_args"])
    bench = Benchmark(spec, tmp_path / "out", log=lambda msg: None)
    root = bench.run_root("ae", 0)
    root.mkdir(parents=True)
    # The state a kill leaves: one epoch done and checkpointed, no train.json.
    interrupted = fit_arguments(
        BenchSpec(models=["ae"], max_epochs=1, trainer_args=SUITE["trainer_args"]), "ae", 0, root
    )
    done = subprocess.run([sys.executable, "-m", "genzoo.cli", *interrupted], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    record = bench.train("ae", 0)
    assert "genzoo: resuming" in (root / "fit.log").read_text()
    assert [p.name for p in (root / "ae-mnist").iterdir()] == ["version_0"]
    assert record["epochs"] == 2 and record["checkpoint"].endswith("version_0/checkpoints/last.ckpt")
