"""Face datamodules (CelebA, anime, folder) and the decoded-image cache, on tiny fixtures in the real layouts
and on the real samples in ../shared/data when present."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import (
    SHARED_DATA,
    SMILING,
    assert_one_line_error,
    celeba_split,
    cli_here,
    code,
    make_anime_jpg,
    make_anime_png,
    make_celeba,
    run_cli,
    write_image,
)

import genzoo.datamodules.cache as cache_module
from genzoo.datamodules import AnimeDataModule, CelebADataModule, FolderDataModule
from genzoo.datamodules.folder import hash_split
from genzoo.errors import GenzooError


def loaded(dm):
    dm.prepare_data()
    dm.setup("fit")
    return dm


def red_codes(images: torch.Tensor) -> np.ndarray:
    """The red value at the image corner: code(i) of the file it was decoded from."""
    return images[:, 0, 1, 1].numpy().astype(int)


def identify(images: torch.Tensor, n: int) -> list[int]:
    """File number i of each image, from its red code (JPEG moves it by a few levels at most)."""
    table = np.array([code(i) for i in range(1, n + 1)])
    return [int(np.abs(table - r).argmin()) + 1 for r in red_codes(images)]


@pytest.mark.parametrize("nested", [True, False], ids=["root-holds-celeba", "root-is-celeba"])
def test_celeba_layout_splits_labels(tmp_path: Path, nested: bool) -> None:
    make_celeba(tmp_path, n=30, labelled=12, nested=nested)
    dm = loaded(CelebADataModule(str(tmp_path), cache_dir=str(tmp_path / "cache"), decode_workers=0))
    assert dm.image_shape == (3, 64, 64) and dm.num_classes == 40 and dm.class_names[SMILING] == "Smiling"
    sizes = {s: len(dm.splits[s]) for s in ("train", "val", "test")}
    assert sizes == {"train": 24, "val": 3, "test": 3}
    train = dm.splits["train"]
    assert train.images.dtype == torch.uint8 and train.images.shape[1:] == (3, 64, 64)
    # Rows are labelled first; every label row travels with its own image.
    ids = identify(train.images, 30)
    assert all(celeba_split(i) == 0 for i in ids)
    labels = train.labels
    assert labels.shape == (24, 40) and (labels[:12] >= 0).all() and (labels[12:] == -1).all()
    assert [int(v) for v in labels[:12, SMILING]] == [i % 2 for i in ids[:12]]
    # Whole batches come out of the memory map as one tensor.
    x, y = train.__getitems__([0, 5, 3])
    assert x.shape == (3, 3, 64, 64) and y.shape == (3, 40)
    assert dm.annotations["train"]["identity_CelebA"].shape == (24, 1)
    assert dm.counts["labelled"] == 12


def test_celeba_default_and_sizes(tmp_path: Path) -> None:
    make_celeba(tmp_path, n=10)
    dm = loaded(CelebADataModule(str(tmp_path), size=32, crop=None, cache_dir=str(tmp_path / "c"), decode_workers=0))
    assert dm.splits["train"].images.shape[1:] == (3, 32, 32)
    # The centered square keeps the dark 'face' in the middle: the center is darker in green than the corner.
    img = dm.splits["train"].images[0]
    assert img[1, 16, 16] < img[1, 1, 1]


def test_cache_reused_keyed_and_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_celeba(tmp_path, n=20)
    cache_dir = tmp_path / "cache"
    loaded(CelebADataModule(str(tmp_path), cache_dir=str(cache_dir), decode_workers=0))
    files = sorted(p.name for p in cache_dir.iterdir())
    assert len(files) == 2 and files[0].endswith(".json") and "64px-crop148" in files[0]
    assert not list(cache_dir.glob(".tmp-*")), "a temporary file was left behind"

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again although the cache exists")

    monkeypatch.setattr(cache_module, "decode_image", no_decoding)
    again = loaded(CelebADataModule(str(tmp_path), cache_dir=str(cache_dir), decode_workers=0))
    assert len(again.splits["train"]) == 16
    monkeypatch.undo()

    # Another size is another cache; a changed file set is another cache too.
    loaded(CelebADataModule(str(tmp_path), size=32, cache_dir=str(cache_dir), decode_workers=0))
    write_image(tmp_path / "celeba/img_align_celeba/000021.jpg", 21)
    loaded(CelebADataModule(str(tmp_path), cache_dir=str(cache_dir), decode_workers=0))
    assert len(list(cache_dir.glob("*.npy"))) == 3

    # Interrupted while decoding: nothing is left that a later run would trust, no temporary files.
    calls = {"n": 0}
    real = cache_module.decode_image

    def interrupted(path, spec):
        calls["n"] += 1
        if calls["n"] > 5:
            raise KeyboardInterrupt
        return real(path, spec)

    monkeypatch.setattr(cache_module, "decode_image", interrupted)
    fresh = tmp_path / "fresh"
    with pytest.raises(KeyboardInterrupt):
        loaded(CelebADataModule(str(tmp_path), cache_dir=str(fresh), decode_workers=0))
    assert not any(fresh.iterdir())
    monkeypatch.undo()
    assert len(loaded(CelebADataModule(str(tmp_path), cache_dir=str(fresh), decode_workers=0)).splits["val"]) == 2


def test_cache_parallel_decoding_matches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_anime_jpg(tmp_path, n=40)
    monkeypatch.setattr(cache_module, "PARALLEL_THRESHOLD", 10)
    monkeypatch.setattr(cache_module, "CHUNK", 7)
    one = loaded(AnimeDataModule(str(tmp_path), cache_dir=str(tmp_path / "a"), decode_workers=0))
    two = loaded(AnimeDataModule(str(tmp_path), cache_dir=str(tmp_path / "b"), decode_workers=2))
    assert torch.equal(one.splits["train"].images, two.splits["train"].images)


def test_labelled_only_uses_labelled_images(tmp_path: Path) -> None:
    make_celeba(tmp_path, n=30, labelled=12)
    dm = loaded(CelebADataModule(str(tmp_path), labelled_only=True, cache_dir=str(tmp_path / "c"), decode_workers=0))
    # val and test have no attributes here (as in the real sample), so they are held out of labelled train.
    sizes = {s: len(dm.splits[s]) for s in ("train", "val", "test")}
    assert sizes == {"train": 10, "val": 1, "test": 1}
    for s in sizes:
        assert (dm.splits[s].labels >= 0).all()
    assert dm.counts["train_used"] == 10 and dm.counts["labelled"] == 12


def test_labelled_only_without_attributes_says_which_file(tmp_path: Path) -> None:
    make_celeba(tmp_path, n=10, labelled=None)
    dm = CelebADataModule(str(tmp_path), labelled_only=True, cache_dir=str(tmp_path / "c"), decode_workers=0)
    with pytest.raises(GenzooError, match="list_attr_celeba.txt"):
        loaded(dm)
    # Models that need no labels still train on every image.
    assert len(loaded(CelebADataModule(str(tmp_path), cache_dir=str(tmp_path / "c"))).splits["train"]) == 8


def break_image(path: Path, how: str) -> None:
    if how == "garbage":
        path.write_bytes(b"this is not a jpeg")
    else:  # truncated: the header survives, the data does not
        path.write_bytes(path.read_bytes()[:300])


@pytest.mark.parametrize("how", ["garbage", "truncated"])
def test_bad_image_stop_or_skip(tmp_path: Path, how: str, caplog: pytest.LogCaptureFixture) -> None:
    make_celeba(tmp_path, n=20)
    break_image(tmp_path / "celeba/img_align_celeba/000004.jpg", how)
    with pytest.raises(GenzooError, match="000004.jpg") as err:
        loaded(CelebADataModule(str(tmp_path), cache_dir=str(tmp_path / "c"), decode_workers=0))
    assert "\n" not in str(err.value) and "bad_images skip" in str(err.value)
    assert not list((tmp_path / "c").glob("*.npy"))
    dm = loaded(CelebADataModule(str(tmp_path), bad_images="skip", cache_dir=str(tmp_path / "c"), decode_workers=0))
    assert len(dm.splits["train"]) == 15 and 4 not in identify(dm.splits["train"].images, 20)
    assert "000004.jpg" in caplog.text


@pytest.mark.parametrize(
    "damage, fragment",
    [
        ("no_partition", "list_eval_partition.txt is missing"),
        ("partition_short", "list_eval_partition.txt has no row for"),
        ("attr_count", "line 1 says 12 rows but the file has 11"),
        ("attr_width", "values after the file name, expected 40"),
        ("attr_names", "not CelebA's 40 attributes"),
        ("attr_foreign", "none of its 12 rows names an image"),
        ("no_images", "no img_align_celeba/ folder"),
    ],
)
def test_celeba_file_problems_one_line(tmp_path: Path, damage: str, fragment: str) -> None:
    base = make_celeba(tmp_path, n=20)
    part, attr = base / "list_eval_partition.txt", base / "list_attr_celeba.txt"
    lines = attr.read_bytes().decode().split("\r\n")
    if damage == "no_partition":
        part.unlink()
    elif damage == "partition_short":
        part.write_text("".join(part.read_text().splitlines(keepends=True)[:10]))
    elif damage == "attr_count":
        attr.write_text("\n".join(lines[:-2]))
    elif damage == "attr_width":
        lines[4] = lines[4].rsplit(" ", 1)[0]
        attr.write_text("\n".join(lines))
    elif damage == "attr_names":
        lines[1] = lines[1].replace("Smiling", "Smile")
        attr.write_text("\n".join(lines))
    elif damage == "attr_foreign":
        attr.write_text("\n".join(line.replace(".jpg", ".png") for line in lines))
    else:
        (base / "img_align_celeba").rename(base / "elsewhere")
    with pytest.raises(GenzooError, match=fragment) as err:
        loaded(CelebADataModule(str(tmp_path), cache_dir=str(tmp_path / "c"), decode_workers=0))
    assert "\n" not in str(err.value)


@pytest.mark.slow  # starts genzoo processes
def test_cli_missing_and_corrupt_files_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    common = ["--data.cache_dir", str(tmp_path / "c"), "--trainer.default_root_dir", str(tmp_path / "runs")]
    missing = ["--data", "celeba", "--data.root", str(tmp_path / "nowhere")]
    result = cli_here(capsys, monkeypatch, "fit", "--model", "vae", *missing, *common)
    assert_one_line_error(result, "img_align_celeba", str(tmp_path / "nowhere"))
    make_celeba(tmp_path, n=12)
    break_image(tmp_path / "celeba/img_align_celeba/000002.jpg", "garbage")
    result = run_cli("fit", "--model", "vae", "--data", "celeba", "--data.root", str(tmp_path), *common)
    assert_one_line_error(result, "000002.jpg")
    assert not (tmp_path / "runs").exists()  # stopped before any run folder was made


@pytest.mark.parametrize("layout", ["png-data", "jpg-images", "flat"])
def test_anime_layouts(tmp_path: Path, layout: str) -> None:
    if layout == "png-data":
        make_anime_png(tmp_path, 20)
    elif layout == "jpg-images":
        make_anime_jpg(tmp_path, 20)
    else:
        for i in range(20):
            write_image(tmp_path / f"{i}.jpg", i, (100, 120))
    dm = loaded(AnimeDataModule(str(tmp_path), cache_dir=str(tmp_path / ".c"), decode_workers=0))
    assert dm.num_classes == 0 and dm.image_shape == (3, 64, 64)
    total = sum(len(dm.splits[s]) for s in ("train", "val", "test"))
    assert total == 20 and dm.splits["train"].images.shape[1:] == (3, 64, 64)
    assert (dm.splits["train"].labels == -1).all()


def test_anime_missing_says_where(tmp_path: Path) -> None:
    with pytest.raises(GenzooError, match=r"anime: no images in .*images.*data.*Kaggle") as err:
        AnimeDataModule(str(tmp_path))
    assert "\n" not in str(err.value)


def test_folder_recursive_subfolder_labels_stable_split(tmp_path: Path) -> None:
    for i in range(12):
        write_image(tmp_path / ("cats" if i % 2 else "dogs") / "deeper" / f"{i}.png", i, (40, 50))
    write_image(tmp_path / "loose.png", 99, (40, 50))
    split = {"val_fraction": 0.2, "test_fraction": 0.2}
    dm = loaded(FolderDataModule(str(tmp_path), size=32, labels="subfolders", decode_workers=0, **split))
    assert dm.class_names == ["cats", "dogs"] and dm.num_classes == 2
    assert (tmp_path / ".genzoo_cache").is_dir()  # default cache beside the data, not listed as images
    names = [n for s in ("train", "val", "test") for n in dm.names[s]]
    assert sorted(names) == sorted([f"{'cats' if i % 2 else 'dogs'}/deeper/{i}.png" for i in range(12)] + ["loose.png"])
    for s in ("train", "val", "test"):
        for name, label in zip(dm.names[s], dm.splits[s].labels.tolist()):
            assert hash_split(name, 0.2, 0.2) == s
            assert label == {"cats": 0, "dogs": 1}.get(name.split("/")[0], -1)
    gray = loaded(FolderDataModule(str(tmp_path), size=16, channels=1, cache_dir=str(tmp_path / "g")))
    assert gray.splits["train"].images.shape[1:] == (1, 16, 16)


def test_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(GenzooError, match="needs --data.root"):
        FolderDataModule()
    with pytest.raises(GenzooError, match="does not exist"):
        FolderDataModule(str(tmp_path / "missing"))
    with pytest.raises(GenzooError, match="no subfolders"):
        FolderDataModule(str(tmp_path), labels="subfolders")


# ----- the real samples in ../shared/data -----------------------------------------------------------------
CELEBA_SAMPLE = SHARED_DATA / "celeba_sample"
ANIME_SAMPLE = SHARED_DATA / "anime_sample" / "images"


@pytest.mark.slow  # decodes the real CelebA sample
@pytest.mark.skipif(not CELEBA_SAMPLE.is_dir(), reason="../shared/data/celeba_sample is not present")
def test_real_celeba_sample_partial_attributes(tmp_path: Path) -> None:
    """Real files, real annotation formats (CRLF, 645 attribute rows, 202,599 partition rows): a subset of
    the images is linked into a temporary layout so the test decodes few JPEGs."""
    attr_lines = (CELEBA_SAMPLE / "list_attr_celeba.txt").read_text().splitlines()
    labelled = [line.split()[0] for line in attr_lines[2:]]
    assert len(labelled) == int(attr_lines[0]) == 645
    all_images = sorted(p.name for p in (CELEBA_SAMPLE / "img_align_celeba").iterdir())
    unlabelled = sorted(set(all_images) - set(labelled))
    chosen = labelled[:40] + unlabelled[:60]
    base = tmp_path / "celeba"
    (base / "img_align_celeba").mkdir(parents=True)
    for name in chosen:
        os.symlink(CELEBA_SAMPLE / "img_align_celeba" / name, base / "img_align_celeba" / name)
    for f in ("list_attr_celeba.txt", "list_eval_partition.txt", "identity_CelebA.txt"):
        os.symlink(CELEBA_SAMPLE / f, base / f)
    dm = loaded(CelebADataModule(str(tmp_path), cache_dir=str(tmp_path / "c")))
    assert dm.counts["images"] == 100 and dm.counts["labelled"] == 40
    assert dm.index().notes[0].startswith("list_eval_partition.txt: 202,599 rows, 100 with an image")
    faces = dm.splits["train"].images.float()
    assert faces.std() > 20  # real photographs, not blank frames
    lab = loaded(CelebADataModule(str(tmp_path), labelled_only=True, cache_dir=str(tmp_path / "c")))
    assert (lab.splits["train"].labels >= 0).all() and len(lab.splits["train"]) + 2 * 2 == 40


@pytest.mark.skipif(not ANIME_SAMPLE.is_dir(), reason="../shared/data/anime_sample is not present")
def test_real_anime_sample(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    for p in sorted(ANIME_SAMPLE.iterdir())[:60]:
        os.symlink(p, tmp_path / "images" / p.name)
    dm = loaded(AnimeDataModule(str(tmp_path), size=32, cache_dir=str(tmp_path / "c")))
    assert dm.data_folder() == tmp_path / "images"
    assert sum(dm.counts[f"{s}_used"] for s in ("train", "val", "test")) == 60
    assert dm.splits["train"].images.float().std() > 20


def test_celeba_download_uses_torchvision_and_reports_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--data.download true hands over to torchvision's CelebA downloader (faked here: no network in tests)."""
    import torchvision.datasets

    calls = []

    class FakeCelebA:
        def __init__(self, root: str, split: str, target_type: list, download: bool) -> None:
            calls.append((root, split, download))
            make_celeba(Path(root), n=10)  # torchvision puts the files in root/celeba

    monkeypatch.setattr(torchvision.datasets, "CelebA", FakeCelebA)
    dm = loaded(CelebADataModule(str(tmp_path), download=True, cache_dir=str(tmp_path / "c"), decode_workers=0))
    assert calls == [(str(tmp_path), "all", True)] and len(dm.splits["train"]) == 8

    class Refused:
        def __init__(self, *args, **kwargs) -> None:
            raise RuntimeError("Too many users have viewed or downloaded this file recently")

    monkeypatch.setattr(torchvision.datasets, "CelebA", Refused)
    with pytest.raises(GenzooError, match=r"download into .* failed \(RuntimeError: Too many users") as err:
        loaded(CelebADataModule(str(tmp_path / "empty"), download=True))
    assert "CelebA page" in str(err.value) and "\n" not in str(err.value)
