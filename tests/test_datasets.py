"""Tests of optimlab.datasets: the packaged MNIST against published facts, IDX parsing,
every corruption the loaders must reject, and the downloader (with file:// URLs)."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import struct
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from helpers import assert_on
from optimlab.backend import Backend, to_numpy
from optimlab.datasets import (
    IDX_NAMES,
    MNIST_FILES,
    MNIST_SHA256,
    SUMS_FILE,
    Dataset,
    download,
    load_idx_dir,
    load_mnist,
    read_idx,
)
from optimlab.errors import ConfigError, DataError

# External facts, copied from the MNIST README (not computed by the code under test).
PUBLISHED_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
FIRST_TRAIN_LABELS = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
FIRST_TEST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]

PACKAGED = resources.files("optimlab") / "data" / "mnist"


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array (written independently of the reader)."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def synthetic(seed: int = 0) -> dict[str, np.ndarray]:
    """Four small IDX arrays: 5 train and 3 test images of 4x3 pixels, labels 0..3."""
    rng = np.random.default_rng(seed)
    train_images = rng.integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    train_images[0, 0, 0], train_images[0, 0, 1] = 0, 255
    return {
        "train-images-idx3-ubyte": train_images,
        "train-labels-idx1-ubyte": np.array([3, 0, 1, 2, 1], dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, size=(3, 4, 3), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.array([2, 2, 0], dtype=np.uint8),
    }


def write_dir(
    directory: Path, arrays: dict[str, np.ndarray], *, gz: bool = False, sums: bool = False
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, array in arrays.items():
        content = idx_bytes(array)
        if gz:
            (directory / f"{name}.gz").write_bytes(gzip.compress(content))
        else:
            (directory / name).write_bytes(content)
        lines.append(f"{hashlib.sha256(content).hexdigest()}  {name}\n")
    if sums:
        (directory / SUMS_FILE).write_text("".join(lines))
    return directory


@pytest.fixture(scope="module")
def mnist() -> tuple[Dataset, Dataset]:
    return load_mnist()


# ------------------------------------------------------ packaged MNIST, external facts


@pytest.mark.parametrize("name", IDX_NAMES)
def test_packaged_files_have_published_md5(name: str) -> None:
    content = gzip.decompress((PACKAGED / f"{name}.gz").read_bytes())
    assert hashlib.md5(content).hexdigest() == PUBLISHED_MD5[name]
    # The SHA-256 the loader verifies is of the same (published) bytes.
    assert hashlib.sha256(content).hexdigest() == MNIST_SHA256[name]


@pytest.mark.parametrize("name", IDX_NAMES)
def test_read_idx_sees_the_published_bytes(name: str) -> None:
    array = read_idx(Path(str(PACKAGED / f"{name}.gz")))
    assert array.dtype == np.uint8
    assert array.shape == ((60000,) if "train" in name else (10000,)) + (
        (28, 28) if "images" in name else ()
    )
    assert hashlib.md5(idx_bytes(array)).hexdigest() == PUBLISHED_MD5[name]


def test_mnist_shapes_labels_and_counts(mnist: tuple[Dataset, Dataset]) -> None:
    train, test = mnist
    assert (train.n, train.features) == (60000, 784)
    assert (test.n, test.features) == (10000, 784)
    assert train.images.shape == (60000, 784) and test.images.shape == (10000, 784)
    assert train.labels.shape == (60000,) and test.labels.shape == (10000,)
    assert train.num_classes == test.num_classes == 10
    assert train.name == test.name == "mnist"
    assert np.bincount(train.labels, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(test.labels, minlength=10).tolist() == TEST_COUNTS
    assert train.labels[:10].tolist() == FIRST_TRAIN_LABELS
    assert test.labels[:10].tolist() == FIRST_TEST_LABELS


def test_mnist_pixels(mnist: tuple[Dataset, Dataset]) -> None:
    train, test = mnist
    assert train.images.dtype == np.float32 and test.images.dtype == np.float32
    assert train.labels.dtype == np.int64 and test.labels.dtype == np.int64
    assert round(float(np.mean(train.images, dtype=np.float64)), 4) == 0.1307
    assert round(float(np.std(train.images, dtype=np.float64)), 4) == 0.3081
    for images in (train.images, test.images):
        assert float(images.min()) == 0.0 and float(images.max()) == 1.0


def test_mnist_float64(mnist: tuple[Dataset, Dataset]) -> None:
    train, test = load_mnist(dtype="float64")
    assert train.images.dtype == np.float64 and test.images.dtype == np.float64
    raw = read_idx(Path(str(PACKAGED / "t10k-images-idx3-ubyte.gz"))).reshape(10000, 784)
    np.testing.assert_array_equal(test.images, raw / 255.0)
    np.testing.assert_array_equal(mnist[1].images, (raw / 255.0).astype(np.float32))


def test_load_mnist_on_backend(backend: Backend, mnist: tuple[Dataset, Dataset]) -> None:
    train, test = load_mnist(xp=backend.xp, device=backend.device)
    for dataset, reference in ((train, mnist[0]), (test, mnist[1])):
        assert_on(backend, dataset.images, backend.xp.float32)
        assert_on(backend, dataset.labels, backend.xp.int64)
        assert dataset.num_classes == 10
        np.testing.assert_array_equal(to_numpy(dataset.images), reference.images)
        np.testing.assert_array_equal(to_numpy(dataset.labels), reference.labels)
    head = train.head(7)
    assert_on(backend, head.images, backend.xp.float32)
    assert_on(backend, head.labels, backend.xp.int64)
    assert to_numpy(head.labels).tolist() == FIRST_TRAIN_LABELS[:7]


def test_load_idx_dir_float64_on_backend(backend: Backend, tmp_path: Path) -> None:
    arrays = synthetic()
    train, test = load_idx_dir(
        write_dir(tmp_path, arrays), xp=backend.xp, device=backend.device, dtype="float64"
    )
    for dataset in (train, test, train.head(2)):
        assert_on(backend, dataset.images, backend.xp.float64)
        assert_on(backend, dataset.labels, backend.xp.int64)
    expected = arrays["t10k-images-idx3-ubyte"].reshape(3, 12) / 255.0
    np.testing.assert_array_equal(to_numpy(test.images), expected)
    assert to_numpy(train.labels).tolist() == [3, 0, 1, 2, 1]


def test_bad_dtype_is_config_error() -> None:
    with pytest.raises(ConfigError, match="float16"):
        load_mnist(dtype="float16")


# --------------------------------------------------------------------- Dataset


def test_dataset_head_and_properties(mnist: tuple[Dataset, Dataset]) -> None:
    train = mnist[0]
    head = train.head(3)
    assert (head.n, head.features, head.num_classes, head.name) == (3, 784, 10, "mnist")
    np.testing.assert_array_equal(head.images, train.images[:3])
    assert head.labels.tolist() == FIRST_TRAIN_LABELS[:3]
    assert train.head(10**9).n == 60000
    assert "n=60000" in repr(train) and "features=784" in repr(train)
    for bad in (0, -1):
        with pytest.raises(ConfigError, match="at least 1"):
            train.head(bad)
    with pytest.raises(ConfigError):
        train.head(2.5)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="labels"):
        Dataset(np.zeros((3, 2)), np.zeros(4, dtype=np.int64), 2, "bad")


# ------------------------------------------------------------- load_idx_dir


def test_raw_and_gz_give_identical_arrays(tmp_path: Path) -> None:
    arrays = synthetic()
    raw_train, raw_test = load_idx_dir(write_dir(tmp_path / "raw", arrays))
    gz_train, gz_test = load_idx_dir(write_dir(tmp_path / "gz", arrays, gz=True))
    for raw, gz in ((raw_train, gz_train), (raw_test, gz_test)):
        np.testing.assert_array_equal(raw.images, gz.images)
        np.testing.assert_array_equal(raw.labels, gz.labels)
    expected = arrays["train-images-idx3-ubyte"].reshape(5, 12) / 255.0
    np.testing.assert_array_equal(raw_train.images, expected.astype(np.float32))
    assert raw_train.labels.tolist() == [3, 0, 1, 2, 1]
    assert raw_test.labels.tolist() == [2, 2, 0]
    assert raw_train.labels.dtype == np.int64 and raw_train.images.dtype == np.float32
    assert (raw_train.n, raw_train.features, raw_test.n) == (5, 12, 3)
    assert raw_train.num_classes == raw_test.num_classes == 4
    assert raw_train.name == "raw" and gz_train.name == "gz"
    assert float(raw_train.images.min()) == 0.0 and float(raw_train.images.max()) == 1.0


def test_gzip_detected_by_content_not_name(tmp_path: Path) -> None:
    arrays = synthetic()
    write_dir(tmp_path, arrays)
    # gzipped bytes under the raw name, and raw bytes under a .gz name
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(gzip.compress(path.read_bytes()))
    np.testing.assert_array_equal(read_idx(path), arrays["train-labels-idx1-ubyte"])
    plain = tmp_path / "plain.gz"
    plain.write_bytes(idx_bytes(arrays["t10k-images-idx3-ubyte"]))
    np.testing.assert_array_equal(read_idx(plain), arrays["t10k-images-idx3-ubyte"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scaling_is_correctly_rounded_for_every_byte(tmp_path: Path, dtype: type) -> None:
    pixels = np.arange(256, dtype=np.uint8).reshape(4, 8, 8)
    arrays = synthetic()
    arrays["train-images-idx3-ubyte"] = pixels
    arrays["train-labels-idx1-ubyte"] = np.array([0, 1, 2, 3], dtype=np.uint8)
    train, _ = load_idx_dir(write_dir(tmp_path, arrays), dtype=dtype.__name__)
    expected = (np.arange(256, dtype=np.float64) / 255.0).astype(dtype).reshape(4, 64)
    assert train.images.dtype == dtype
    np.testing.assert_array_equal(train.images, expected)


def test_sums_file_is_used_and_checked(tmp_path: Path) -> None:
    arrays = synthetic()
    directory = write_dir(tmp_path, arrays, gz=True, sums=True)
    train, _ = load_idx_dir(directory)
    assert train.n == 5
    # flip one byte of the uncompressed content, keep the gzip valid
    path = directory / "t10k-images-idx3-ubyte.gz"
    content = bytearray(gzip.decompress(path.read_bytes()))
    content[-1] ^= 0x01
    path.write_bytes(gzip.compress(bytes(content)))
    good = hashlib.sha256(idx_bytes(arrays["t10k-images-idx3-ubyte"])).hexdigest()
    bad = hashlib.sha256(bytes(content)).hexdigest()
    with pytest.raises(DataError) as caught:
        load_idx_dir(directory)
    message = str(caught.value)
    assert "t10k-images-idx3-ubyte.gz" in message and "checksum" in message
    assert good in message and bad in message
    # without the sums file the flipped byte goes unnoticed: that is what the sums are for
    (directory / SUMS_FILE).unlink()
    assert load_idx_dir(directory)[1].n == 3


def test_sha256_argument(tmp_path: Path) -> None:
    arrays = synthetic()
    directory = write_dir(tmp_path, arrays)
    digests = {name: hashlib.sha256(idx_bytes(a)).hexdigest() for name, a in arrays.items()}
    assert load_idx_dir(directory, sha256=digests)[0].n == 5
    wrong = dict(digests, **{"train-labels-idx1-ubyte": "0" * 64})
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte.*0{64}"):
        load_idx_dir(directory, sha256=wrong)
    partial = {k: v for k, v in digests.items() if "t10k-labels" not in k}
    with pytest.raises(DataError, match="no SHA-256 for t10k-labels-idx1-ubyte"):
        load_idx_dir(directory, sha256=partial)


def test_flipped_byte_in_real_mnist_file_fails_checksum(tmp_path: Path) -> None:
    for name in IDX_NAMES:
        (tmp_path / f"{name}.gz").write_bytes((PACKAGED / f"{name}.gz").read_bytes())
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    content = bytearray(gzip.decompress(path.read_bytes()))
    content[100] = (content[100] + 1) % 10  # still a valid label: only the checksum can tell
    path.write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz fails its checksum") as e:
        load_idx_dir(tmp_path, sha256=MNIST_SHA256)
    assert MNIST_SHA256["t10k-labels-idx1-ubyte"] in str(e.value)


LOAD_PACKAGED = """
import sys
import optimlab

assert optimlab.__file__.startswith(sys.argv[1]), optimlab.__file__
try:
    optimlab.load_mnist()
except optimlab.DataError as error:
    print(error)
    sys.exit(3)
print("loaded")
"""


def test_load_mnist_refuses_a_packaged_file_with_one_flipped_byte(tmp_path: Path) -> None:
    """``load_mnist`` itself checks the packaged files (issue 17, row 8).

    A copy of the installed package, one label of its test set changed (still a valid
    label, recompressed: only the checksum can tell), imported in a child process.
    """
    import shutil
    import subprocess
    import sys

    import optimlab

    site = tmp_path / "site"
    package = Path(optimlab.__file__).parent
    shutil.copytree(package, site / "optimlab", ignore=shutil.ignore_patterns("__pycache__"))
    path = site / "optimlab" / "data" / "mnist" / "t10k-labels-idx1-ubyte.gz"
    content = bytearray(gzip.decompress(path.read_bytes()))
    content[100] = (content[100] + 1) % 10
    path.write_bytes(gzip.compress(bytes(content)))
    environment = dict(os.environ, PYTHONPATH=str(site))  # the copy, not the checkout
    run = subprocess.run(
        [sys.executable, "-c", LOAD_PACKAGED, str(site)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert run.returncode == 3, (run.returncode, run.stdout, run.stderr)
    message = run.stdout.strip()
    assert re.fullmatch(
        r"packaged MNIST file t10k-labels-idx1-ubyte\.gz fails its checksum: .* is [0-9a-f]{64}, "
        + f"expected {MNIST_SHA256['t10k-labels-idx1-ubyte']}",
        message,
    ), message


# ---------------------------------------------------------------- corruptions


def corrupt_and_load(tmp_path: Path, name: str, content: bytes) -> str:
    """Write the synthetic set with ``name`` replaced by ``content``; the DataError's text."""
    directory = write_dir(tmp_path, synthetic())
    (directory / name).write_bytes(content)
    with pytest.raises(DataError) as caught:
        load_idx_dir(directory)
    message = str(caught.value)
    assert str(directory / name) in message
    assert message.count("\n") == 0
    return message


def test_bad_magic(tmp_path: Path) -> None:
    content = b"\x12\x34" + idx_bytes(synthetic()["train-images-idx3-ubyte"])[2:]
    message = corrupt_and_load(tmp_path, "train-images-idx3-ubyte", content)
    assert "magic number 0x12340803" in message and "expected 0x00000803" in message


def test_labels_where_images_expected(tmp_path: Path) -> None:
    content = idx_bytes(np.zeros(5, dtype=np.uint8))
    message = corrupt_and_load(tmp_path, "train-images-idx3-ubyte", content)
    assert "0x00000801" in message and "expected 0x00000803" in message


def test_unsupported_type_code(tmp_path: Path) -> None:
    content = bytes([0, 0, 0x0D, 1]) + struct.pack(">I", 5) + bytes(20)
    message = corrupt_and_load(tmp_path, "train-labels-idx1-ubyte", content)
    assert "0x0D" in message and "float32" in message and "only uint8" in message


def test_truncated_file(tmp_path: Path) -> None:
    content = idx_bytes(synthetic()["train-images-idx3-ubyte"])[:-6]
    message = corrupt_and_load(tmp_path, "train-images-idx3-ubyte", content)
    assert "is truncated" in message
    assert "declares 5 records of 12 bytes but holds 4.5" in message


def test_truncated_header(tmp_path: Path) -> None:
    message = corrupt_and_load(tmp_path, "t10k-images-idx3-ubyte", bytes([0, 0, 8, 3, 0, 0]))
    assert "header" in message


def test_trailing_bytes(tmp_path: Path) -> None:
    content = idx_bytes(synthetic()["t10k-labels-idx1-ubyte"]) + b"\0"
    message = corrupt_and_load(tmp_path, "t10k-labels-idx1-ubyte", content)
    assert "trailing bytes" in message
    assert "declares 3 records of 1 byte but holds 4" in message


def test_corrupt_gzip(tmp_path: Path) -> None:
    compressed = bytearray(gzip.compress(idx_bytes(synthetic()["train-images-idx3-ubyte"])))
    compressed[12:20] = b"\xff" * 8  # garbage in the deflate stream
    message = corrupt_and_load(tmp_path, "train-images-idx3-ubyte", bytes(compressed))
    assert "cannot be decompressed" in message


def test_truncated_gzip(tmp_path: Path) -> None:
    compressed = gzip.compress(idx_bytes(synthetic()["train-images-idx3-ubyte"]))
    message = corrupt_and_load(tmp_path, "train-images-idx3-ubyte", compressed[:-12])
    assert "truncated gzip" in message


def test_count_mismatch(tmp_path: Path) -> None:
    arrays = synthetic()
    arrays["t10k-labels-idx1-ubyte"] = np.array([1, 2], dtype=np.uint8)
    directory = write_dir(tmp_path, arrays)
    with pytest.raises(DataError) as caught:
        load_idx_dir(directory)
    message = str(caught.value)
    assert str(directory / "t10k-images-idx3-ubyte") in message
    assert str(directory / "t10k-labels-idx1-ubyte") in message
    assert "3 images" in message and "2 labels" in message


def test_missing_files(tmp_path: Path) -> None:
    directory = write_dir(tmp_path, synthetic())
    (directory / "train-labels-idx1-ubyte").unlink()
    (directory / "t10k-images-idx3-ubyte").unlink()
    with pytest.raises(DataError) as caught:
        load_idx_dir(directory)
    message = str(caught.value)
    assert str(directory) in message
    assert "train-labels-idx1-ubyte" in message and "t10k-images-idx3-ubyte" in message
    assert "train-images-idx3-ubyte" not in message


def test_not_a_directory(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_bytes(b"")
    with pytest.raises(DataError, match=re.escape(f"{file} is not a directory")):
        load_idx_dir(file)
    with pytest.raises(DataError, match=re.escape(f"{tmp_path / 'nope'} does not exist")):
        load_idx_dir(tmp_path / "nope")


def test_read_idx_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=re.escape(f"{tmp_path / 'absent'} does not exist")):
        read_idx(tmp_path / "absent")


def test_read_idx_ndim(tmp_path: Path) -> None:
    path = tmp_path / "labels"
    path.write_bytes(idx_bytes(np.arange(4, dtype=np.uint8)))
    assert read_idx(path, ndim=1).tolist() == [0, 1, 2, 3]
    with pytest.raises(DataError, match="expected 0x00000803"):
        read_idx(path, ndim=3)


# ------------------------------------------------------------------- download


@pytest.fixture
def source(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A folder of gzipped synthetic IDX files and their uncompressed SHA-256."""
    folder = write_dir(tmp_path / "source", synthetic(), gz=True)
    digests = {name: hashlib.sha256(idx_bytes(a)).hexdigest() for name, a in synthetic().items()}
    return folder, digests


def test_download_copies_and_verifies(tmp_path: Path, source: tuple[Path, dict]) -> None:
    folder, digests = source
    destination = tmp_path / "new" / "dest"
    result = download(folder.as_uri() + "/", destination, sha256=digests)
    assert result == destination
    assert sorted(p.name for p in destination.iterdir()) == sorted(MNIST_FILES)
    for name in MNIST_FILES:
        assert (destination / name).read_bytes() == (folder / name).read_bytes()
    assert load_idx_dir(destination, sha256=digests)[0].n == 5


def test_download_checksum_mismatch_keeps_nothing(
    tmp_path: Path, source: tuple[Path, dict]
) -> None:
    folder, digests = source
    destination = tmp_path / "dest"
    wrong = dict(digests, **{"train-images-idx3-ubyte": "f" * 64})
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz .*checksum.*f{64}"):
        download(folder.as_uri(), destination, files=["train-images-idx3-ubyte.gz"], sha256=wrong)
    assert list(destination.iterdir()) == []


def test_download_missing_source_keeps_nothing(tmp_path: Path, source: tuple[Path, dict]) -> None:
    folder, _ = source
    destination = tmp_path / "dest"
    with pytest.raises(DataError, match=re.escape("cannot download absent.gz")):
        download(folder.as_uri(), destination, files=["absent.gz"])
    assert list(destination.iterdir()) == []


def test_download_needs_every_digest(tmp_path: Path, source: tuple[Path, dict]) -> None:
    folder, _ = source
    with pytest.raises(ConfigError, match=re.escape("t10k-labels-idx1-ubyte.gz")):
        download(folder.as_uri(), tmp_path / "dest", sha256={"x": "0" * 64})
    assert not (tmp_path / "dest").exists()
