"""Tests of optimlab.datasets.fetch and load: the cache, the download through a local HTTP
server, damaged files, the cache directory's choice and the error messages. No test
needs the network: the pinned digests are swapped for those of tiny synthetic files."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import re
import socket
import struct
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import platformdirs
import pytest

from optimlab.datasets import (
    DATASETS,
    MNIST_FILES,
    REMOTE_DATASETS,
    cache_directory,
    download,
    fetch,
    fetching,
    load,
)
from optimlab.errors import ConfigError, DataError

NAME = "fashion-mnist"


def idx_gz(array: np.ndarray) -> bytes:
    """The gzipped IDX encoding of a uint8 array (written independently of the reader)."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


def _files() -> dict[str, bytes]:
    """Four tiny gzipped IDX files: 4 train and 2 test images of 2x3 pixels, labels 0..2."""
    rng = np.random.default_rng(7)
    arrays = [
        rng.integers(0, 256, size=(4, 2, 3), dtype=np.uint8),
        np.array([0, 2, 1, 1], dtype=np.uint8),
        rng.integers(0, 256, size=(2, 2, 3), dtype=np.uint8),
        np.array([2, 0], dtype=np.uint8),
    ]
    return {name: idx_gz(array) for name, array in zip(MNIST_FILES, arrays, strict=True)}


FILES = _files()
DIGESTS = {name: hashlib.sha256(data).hexdigest() for name, data in FILES.items()}


@dataclass
class Server:
    """A local HTTP server of ``files`` (404 for any other path), counting requests."""

    files: dict[str, bytes]
    url: str = ""
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server(files=dict(FILES))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            name = self.path.rsplit("/", 1)[-1]
            state.requests.append(name)
            body = state.files.get(name)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # keep the test output quiet
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/data/"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def closed_url() -> str:
    """A URL on a local port nobody listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def pin(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Point the Fashion-MNIST entry at ``url``, its digests at the synthetic files'."""

    def point(url: str) -> None:
        entry = replace(REMOTE_DATASETS[NAME], url=url, file_sha256=dict(DIGESTS))
        monkeypatch.setitem(REMOTE_DATASETS, NAME, entry)

    return point


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may write into the user's real cache."""
    monkeypatch.setenv("OPTIMLAB_DATA", str(tmp_path / "env-cache"))


def fill(directory: Path, files: dict[str, bytes]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)


def test_pinned_digests_are_sha256_of_all_four_files() -> None:
    assert set(REMOTE_DATASETS) == {"fashion-mnist", "kmnist"}
    assert DATASETS == ("mnist", "fashion-mnist", "kmnist")
    for name, entry in REMOTE_DATASETS.items():
        assert entry.name == name
        assert entry.url.startswith("http://") and entry.url.endswith("/")
        assert entry.files == MNIST_FILES
        assert sorted(entry.file_sha256) == sorted(MNIST_FILES)
        for digest in entry.file_sha256.values():
            assert re.fullmatch("[0-9a-f]{64}", digest), (name, digest)
        assert len(set(entry.file_sha256.values())) == 4  # no digest pasted twice
    every = [d for e in REMOTE_DATASETS.values() for d in e.file_sha256.values()]
    assert len(set(every)) == len(every)


def test_cached_files_are_reused_without_any_download(
    tmp_path: Path, pin: Callable[[str], None], closed_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pin(closed_url)  # a download would fail: the URL is refused

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("fetch opened a URL although the cache was complete")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    fill(tmp_path / "cache" / NAME, FILES)
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "cache" / NAME).iterdir()}

    assert fetch(NAME, cache_dir=tmp_path / "cache") == tmp_path / "cache" / NAME
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "cache" / NAME).iterdir()}
    assert after == before
    train, test = load(NAME, cache_dir=tmp_path / "cache", dtype="float64")
    assert (train.name, train.n, train.features, train.num_classes) == (NAME, 4, 6, 3)
    assert (test.name, test.n) == (NAME, 2)
    assert np.asarray(train.labels).tolist() == [0, 2, 1, 1]


def test_download_once_then_reuse(
    tmp_path: Path, pin: Callable[[str], None], server: Server
) -> None:
    pin(server.url)
    directory = fetch(NAME, cache_dir=tmp_path / "cache")
    assert directory == tmp_path / "cache" / NAME
    assert sorted(server.requests) == sorted(MNIST_FILES)
    assert sorted(p.name for p in directory.iterdir()) == sorted(MNIST_FILES)
    for name, data in FILES.items():
        assert (directory / name).read_bytes() == data

    assert fetch(NAME, cache_dir=tmp_path / "cache") == directory
    assert len(server.requests) == 4  # the second call downloaded nothing


def test_damaged_cached_file_is_downloaded_again(
    tmp_path: Path, pin: Callable[[str], None], server: Server
) -> None:
    pin(server.url)
    directory = tmp_path / "cache" / NAME
    damaged = "train-labels-idx1-ubyte.gz"
    fill(directory, {**FILES, damaged: FILES[damaged][:-3]})
    fetch(NAME, cache_dir=tmp_path / "cache")
    assert server.requests == [damaged]
    assert (directory / damaged).read_bytes() == FILES[damaged]


def test_wrong_bytes_from_the_server_leave_nothing_in_the_cache(
    tmp_path: Path, pin: Callable[[str], None], server: Server
) -> None:
    pin(server.url)
    bad = "t10k-images-idx3-ubyte.gz"
    server.files[bad] = FILES[bad] + b"\0"
    directory = tmp_path / "cache" / NAME
    fill(directory, {bad: b"damaged copy"})
    with pytest.raises(DataError, match=rf"{re.escape(bad)} .*fails its checksum.*as stored"):
        fetch(NAME, cache_dir=tmp_path / "cache")
    assert bad in server.requests
    assert not (directory / bad).exists()  # neither the wrong download nor the damaged copy
    assert not [p for p in directory.iterdir() if p.name.endswith(".part")]


def test_optimlab_data_is_honoured(
    tmp_path: Path, pin: Callable[[str], None], server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    pin(server.url)
    monkeypatch.setenv("OPTIMLAB_DATA", str(tmp_path / "from-env"))
    assert cache_directory() == tmp_path / "from-env"
    assert fetch(NAME) == tmp_path / "from-env" / NAME
    assert (tmp_path / "from-env" / NAME / MNIST_FILES[0]).read_bytes() == FILES[MNIST_FILES[0]]
    assert cache_directory(tmp_path / "argument") == tmp_path / "argument"  # the argument wins
    monkeypatch.setenv("OPTIMLAB_DATA", "")
    assert cache_directory() != Path("")


def test_the_platform_cache_directory_is_platformdirs_choice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPTIMLAB_DATA")
    chosen = Path(platformdirs.user_cache_dir("optimlab", appauthor=False))
    assert cache_directory() == chosen
    monkeypatch.setenv("OPTIMLAB_DATA", "")  # empty: as if unset
    assert cache_directory() == chosen
    assert cache_directory(tmp_path / "argument") == tmp_path / "argument"
    monkeypatch.setenv("OPTIMLAB_DATA", "~/from-env")
    assert cache_directory() == Path.home() / "from-env"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the XDG rule is Linux's")
def test_on_linux_the_cache_follows_xdg_cache_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPTIMLAB_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_directory() == tmp_path / "xdg" / "optimlab"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_directory() == tmp_path / "home" / ".cache" / "optimlab"
    assert not (tmp_path / "home").exists()  # chosen, not created


def _sentences(message: str) -> int:
    return len(re.findall(r"[.!?](?:\s|$)", message))


def test_no_network_says_so_in_one_sentence_naming_data_dir(
    tmp_path: Path, pin: Callable[[str], None], closed_url: str
) -> None:
    pin(closed_url)
    with pytest.raises(DataError) as caught:
        fetch(NAME, cache_dir=tmp_path / "cache")
    message = str(caught.value)
    assert message.startswith(f"cannot download the {NAME} data set from {closed_url}: ")
    assert "no network" in message and "--data-dir DIR" in message
    assert _sentences(message + ".") == 1 and "\n" not in message
    assert list((tmp_path / "cache" / NAME).iterdir()) == []  # no partial file left


def test_missing_file_on_the_server_names_the_http_status(
    tmp_path: Path, pin: Callable[[str], None], server: Server
) -> None:
    pin(server.url)
    del server.files["t10k-labels-idx1-ubyte.gz"]
    with pytest.raises(DataError, match=r"HTTP 404 .*--data-dir DIR") as caught:
        fetch(NAME, cache_dir=tmp_path / "cache")
    assert _sentences(str(caught.value) + ".") == 1


def test_unknown_name_and_mnist_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="choose from mnist, fashion-mnist, kmnist"):
        fetch("cifar10", cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="unknown data set None"):
        load(None, cache_dir=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"MNIST is packaged.*load_mnist\(\)"):
        fetch("mnist", cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_load_mnist_by_name_uses_the_packaged_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    # load looks load_mnist up in the module that defines load
    monkeypatch.setattr(fetching, "load_mnist", lambda **kwargs: calls.append(kwargs) or "sets")
    assert load("mnist", dtype="float64") == "sets"
    assert calls == [{"device": "cpu", "dtype": "float64", "xp": None}]


def test_download_file_sha256_checks_the_stored_bytes(tmp_path: Path, server: Server) -> None:
    name = MNIST_FILES[1]
    download(server.url, tmp_path / "ok", files=[name], file_sha256=DIGESTS)
    assert (tmp_path / "ok" / name).read_bytes() == FILES[name]
    # The digest of the uncompressed content is not that of the stored .gz file.
    content = hashlib.sha256(gzip.decompress(FILES[name])).hexdigest()
    with pytest.raises(DataError, match="bytes as stored"):
        download(server.url, tmp_path / "no", files=[name], file_sha256={name: content})
    assert list((tmp_path / "no").iterdir()) == []
    with pytest.raises(ConfigError, match=re.escape(f"file_sha256 gives no digest for {name}")):
        download(server.url, tmp_path / "x", files=[name], file_sha256={name[:-3]: content})
