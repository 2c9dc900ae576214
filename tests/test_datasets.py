"""Tests of bioplastic.data.datasets (offline: the network is never used)."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bioplastic.data import datasets
from bioplastic.data.datasets import (
    ChecksumError,
    CorruptDataError,
    DataError,
    DataNotFoundError,
    DownloadError,
)

# In the project layout a clone sits next to shared/, so its parent holds shared/data.
REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
HAVE_REAL_DATA = (REAL_DATA / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file()
needs_real_data = pytest.mark.skipif(
    not HAVE_REAL_DATA,
    reason=f"real MNIST/Fashion-MNIST files not found at {REAL_DATA}",
)

FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No test sees the user's BIOPLASTIC_DATA or real cache."""
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    yield


@pytest.fixture
def real_data(monkeypatch):
    if not HAVE_REAL_DATA:
        pytest.skip(f"real MNIST/Fashion-MNIST files not found at {REAL_DATA}")
    monkeypatch.setenv(datasets.ENV_VAR, str(REAL_DATA))
    return REAL_DATA


def _copy_mnist_test(dst_root: Path) -> Path:
    """Copy the (small) MNIST test files to dst_root/mnist; return that folder."""
    dst = dst_root / "mnist"
    dst.mkdir(parents=True)
    for f in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copyfile(REAL_DATA / "mnist" / f, dst / f)
    return dst


def _idx_gz(path: Path, arr: np.ndarray, magic: int | None = None,
            count: int | None = None, extra: bytes = b"") -> Path:
    arr = np.asarray(arr, dtype=np.uint8)
    magic = (0x0800 + arr.ndim) if magic is None else magic
    dims = list(arr.shape)
    if count is not None:
        dims[0] = count
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
    path.write_bytes(gzip.compress(header + arr.tobytes() + extra, compresslevel=1))
    return path


# --------------------------------------------------------------------------
# Real data
# --------------------------------------------------------------------------

def test_packaged_checksums_match_shared_copy():
    sums = datasets._checksums()
    assert len(sums) == 8
    assert set(sums) == {f"{d}/{f}" for d in datasets.DATASETS for f in FILES}
    if HAVE_REAL_DATA:
        assert (Path(datasets.__file__).with_name("SHA256SUMS").read_text()
                == (REAL_DATA / "SHA256SUMS").read_text())


def test_load_mnist_test(real_data):
    images, labels = datasets.load_mnist("test")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert labels[0] == 7
    assert np.bincount(labels).tolist() == MNIST_TEST_COUNTS
    assert images.max() == 255 and images.min() == 0
    assert images.flags.writeable


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_load_both_splits(real_data, name):
    tr_x, tr_y = datasets.load_dataset(name, "train")
    te_x, te_y = datasets.load_dataset(name, "test")
    assert tr_x.shape == (60000, 28, 28) and te_x.shape == (10000, 28, 28)
    assert tr_x.dtype == te_x.dtype == tr_y.dtype == te_y.dtype == np.uint8
    if name == "mnist":
        assert tr_y[0] == 5
        assert np.bincount(tr_y).tolist() == MNIST_TRAIN_COUNTS
    else:
        assert tr_y[0] == 9 and te_y[0] == 9  # ankle boot
        assert np.bincount(tr_y).tolist() == [6000] * 10
        assert np.bincount(te_y).tolist() == [1000] * 10


def test_aliases_and_wrappers(real_data):
    a = datasets.load_fashion_mnist("test")
    for alias in ("fashion_mnist", "Fashion-MNIST"):
        b = datasets.load_dataset(alias, "test")
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert len(datasets.FASHION_MNIST_CLASSES) == 10


def test_bad_split_and_name():
    with pytest.raises(ValueError, match="'train', 'test'"):
        datasets.load_mnist("validation")
    with pytest.raises(ValueError, match="'train', 'test'"):
        datasets.load_fashion_mnist("t10k")
    with pytest.raises(ValueError, match="'mnist', 'fashion-mnist'"):
        datasets.load_dataset("cifar10")
    with pytest.raises(ValueError, match="'mnist', 'fashion-mnist'"):
        datasets.find_data_file("emnist", FILES[0])


# --------------------------------------------------------------------------
# Lookup order
# --------------------------------------------------------------------------

@needs_real_data
def test_explicit_path_beats_env_var(tmp_path, monkeypatch):
    # The env var points at a broken copy; the explicit path must win.
    bad = _copy_mnist_test(tmp_path / "env-root")
    (bad / "t10k-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path / "env-root"))
    f = "t10k-labels-idx1-ubyte.gz"
    assert datasets.find_data_file("mnist", f) == bad / f
    assert datasets.find_data_file("mnist", f, data_dir=REAL_DATA) == REAL_DATA / "mnist" / f
    _, labels = datasets.load_mnist("test", data_dir=str(REAL_DATA))
    assert labels[0] == 7
    with pytest.raises(ChecksumError):
        datasets.load_mnist("test")


@needs_real_data
def test_data_dir_may_be_the_dataset_folder():
    f = "t10k-labels-idx1-ubyte.gz"
    assert datasets.find_data_file("mnist", f, REAL_DATA / "mnist") == REAL_DATA / "mnist" / f
    _, labels = datasets.load_fashion_mnist("test", data_dir=REAL_DATA / "fashion-mnist")
    assert np.bincount(labels).tolist() == [1000] * 10
    # The other dataset's folder is never mistaken for this one (same file names).
    with pytest.raises(DataNotFoundError):
        datasets.find_data_file("fashion-mnist", f, REAL_DATA / "mnist")


@needs_real_data
def test_falls_back_to_env_then_cache(tmp_path, monkeypatch):
    f = "t10k-labels-idx1-ubyte.gz"
    # no data_dir -> env var is used.
    monkeypatch.setenv(datasets.ENV_VAR, str(REAL_DATA))
    assert datasets.find_data_file("mnist", f) == REAL_DATA / "mnist" / f
    # env var unset -> user cache ($XDG_CACHE_HOME/bioplastic/data).
    monkeypatch.delenv(datasets.ENV_VAR)
    cache = tmp_path / "xdg-cache" / "bioplastic" / "data"
    assert datasets.default_cache_dir() == cache
    _copy_mnist_test(cache)
    assert datasets.find_data_file("mnist", f) == cache / "mnist" / f
    assert datasets.load_mnist("test")[1][0] == 7
    # Without XDG_CACHE_HOME the cache is ~/.cache/bioplastic/data.
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert datasets.default_cache_dir() == tmp_path / "home" / ".cache" / "bioplastic" / "data"


@needs_real_data
@pytest.mark.parametrize("kind", ["missing", "empty", "file"])
def test_explicit_data_dir_never_falls_back(tmp_path, monkeypatch, kind):
    """An explicit data_dir that does not hold the files is an error naming it,
    even when $BIOPLASTIC_DATA and the cache hold good data (issue 10)."""
    monkeypatch.setenv(datasets.ENV_VAR, str(REAL_DATA))
    _copy_mnist_test(tmp_path / "xdg-cache" / "bioplastic" / "data")
    explicit = tmp_path / "nonexistent"
    if kind == "empty":
        explicit.mkdir()
    elif kind == "file":
        explicit.write_text("not a folder")
    with pytest.raises(DataNotFoundError) as info:
        datasets.load_mnist("test", data_dir=explicit)
    msg = str(info.value)
    assert str(explicit) in msg
    assert {"missing": "does not exist", "empty": "does not hold it", "file": "is not a folder"}[kind] in msg
    assert "only place searched" in msg
    assert all(str(p).startswith(str(explicit)) for p in info.value.searched)


def test_missing_data_error_lists_every_place(tmp_path, monkeypatch):
    env = tmp_path / "env-data"
    monkeypatch.setenv(datasets.ENV_VAR, str(env))
    with pytest.raises(DataNotFoundError) as info:
        datasets.load_mnist("train")
    err = info.value
    assert isinstance(err, FileNotFoundError) and isinstance(err, DataError)
    msg = str(err)
    cache = datasets.default_cache_dir()
    for place in (env / "mnist" / FILES[0], cache / "mnist" / FILES[0]):
        assert str(place) in msg
        assert place in err.searched
    assert f"${datasets.ENV_VAR}={env}" in msg
    assert "data_dir" in msg and "download('mnist')" in msg

    monkeypatch.delenv(datasets.ENV_VAR)
    with pytest.raises(DataNotFoundError, match=r"\$BIOPLASTIC_DATA: not set") as info:
        datasets.load_fashion_mnist("test")
    assert "data_dir argument: not given" in str(info.value)
    assert "download('fashion-mnist')" in str(info.value)


# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------

@needs_real_data
def test_corrupt_copy_raises_checksum_error(tmp_path):
    folder = _copy_mnist_test(tmp_path)
    target = folder / "t10k-images-idx3-ubyte.gz"
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    target.write_bytes(bytes(raw))
    with pytest.raises(ChecksumError) as info:
        datasets.load_mnist("test", data_dir=tmp_path)
    msg = str(info.value)
    expected = datasets.expected_sha256("mnist", target.name)
    actual = hashlib.sha256(bytes(raw)).hexdigest()
    assert str(target) in msg and expected in msg and actual in msg
    assert info.value.path == target
    assert (info.value.expected, info.value.actual) == (expected, actual)


@needs_real_data
def test_truncated_file_raises(tmp_path):
    folder = _copy_mnist_test(tmp_path)
    target = folder / "t10k-labels-idx1-ubyte.gz"
    target.write_bytes(target.read_bytes()[:1000])
    with pytest.raises(ChecksumError, match="truncated") as info:
        datasets.load_mnist("test", data_dir=tmp_path)
    assert str(target) in str(info.value)
    # Without a checksum, the gzip reader still refuses it.
    with pytest.raises(CorruptDataError, match="truncated") as info:
        datasets.read_idx(target)
    assert str(target) in str(info.value)


def test_read_idx_validates_format(tmp_path):
    good = _idx_gz(tmp_path / "good.gz", np.arange(2 * 28 * 28).reshape(2, 28, 28) % 256)
    arr = datasets.read_idx(good)
    assert arr.shape == (2, 28, 28) and arr.dtype == np.uint8 and arr[0, 0, 5] == 5
    assert datasets.read_idx(_idx_gz(tmp_path / "l.gz", [3, 1, 4])).tolist() == [3, 1, 4]

    bad_magic = _idx_gz(tmp_path / "magic.gz", np.zeros((2, 28, 28)), magic=0x0D03)
    with pytest.raises(CorruptDataError, match="magic"):
        datasets.read_idx(bad_magic)
    short = _idx_gz(tmp_path / "short.gz", np.zeros((2, 28, 28)), count=3)
    with pytest.raises(CorruptDataError, match="truncated"):
        datasets.read_idx(short)
    trailing = _idx_gz(tmp_path / "trail.gz", np.zeros(4), extra=b"\x00")
    with pytest.raises(CorruptDataError, match="trailing"):
        datasets.read_idx(trailing)
    not_gz = tmp_path / "plain.gz"
    not_gz.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07")
    with pytest.raises(CorruptDataError, match="gzip") as info:
        datasets.read_idx(not_gz)
    assert str(not_gz) in str(info.value)
    assert hashlib.sha256(not_gz.read_bytes()).hexdigest() in str(info.value)
    cut = tmp_path / "cut.gz"
    cut.write_bytes(good.read_bytes()[:-12])
    with pytest.raises(CorruptDataError, match="truncated"):
        datasets.read_idx(cut)
    with pytest.raises(ChecksumError):
        datasets.read_idx(good, expected_sha256="0" * 64)


@needs_real_data
def test_verification_is_memoised(tmp_path, monkeypatch):
    calls = []
    real_hash = datasets._hash_file

    def counting(path):
        calls.append(Path(path).name)
        return real_hash(path)

    monkeypatch.setattr(datasets, "_hash_file", counting)
    _copy_mnist_test(tmp_path)
    datasets.load_mnist("test", data_dir=tmp_path)
    assert sorted(calls) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    datasets.load_mnist("test", data_dir=tmp_path)
    assert len(calls) == 2
    # A changed modification time invalidates the memo.
    labels = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    st = labels.stat()
    os.utime(labels, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    datasets.load_mnist("test", data_dir=tmp_path)
    assert calls[2:] == ["t10k-labels-idx1-ubyte.gz"]


# --------------------------------------------------------------------------
# Download (fake opener, synthetic but valid IDX files)
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fake_mnist_blobs(tmp_path_factory):
    """Bytes of four valid synthetic MNIST files (built once per module)."""
    src = tmp_path_factory.mktemp("fake-mnist-src")
    rng = np.random.default_rng(0)
    blobs = {}
    for split, n in (("train", 60000), ("t10k", 10000)):
        images = np.zeros((n, 28, 28), np.uint8)
        images[:, 10:18, 10:18] = 200
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
            fname = f"{split}-{kind}-ubyte.gz"
            blobs[fname] = _idx_gz(src / fname, arr).read_bytes()
    return blobs


@pytest.fixture
def fake_mnist(fake_mnist_blobs, monkeypatch):
    """The synthetic files; the packaged checksums are patched to match them."""
    blobs = fake_mnist_blobs
    sums = dict(datasets._checksums())
    for fname, blob in blobs.items():
        sums[f"mnist/{fname}"] = hashlib.sha256(blob).hexdigest()
    monkeypatch.setattr(datasets, "_checksums", lambda: sums)
    return blobs


class FakeOpener:
    """Stands in for datasets._urlopen: maps base URL -> behaviour."""

    def __init__(self, blobs, behaviour):
        self.blobs, self.behaviour, self.calls = blobs, behaviour, []

    def __call__(self, url, timeout):
        self.calls.append(url)
        base, fname = url.rsplit("/", 1)
        mode = self.behaviour.get(base + "/", "good")
        if mode == "good":
            return io.BytesIO(self.blobs[fname])
        if mode == "wrong":
            return io.BytesIO(b"<html>not the file</html>" * 100)
        if mode == "broken":
            return _BrokenStream(self.blobs[fname][:5000])
        raise OSError(f"no route to host for {url}")


class _BrokenStream(io.BytesIO):
    def read(self, n=-1):
        data = super().read(n)
        if not data:
            raise ConnectionResetError("connection reset mid-transfer")
        return data


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_installs_verified_files(tmp_path, fake_mnist, monkeypatch):
    A, B, C = "https://a.example/mnist/", "https://b.example/mnist/", "https://c.example/"
    opener = FakeOpener(fake_mnist, {A: "down", B: "broken", C: "good"})
    monkeypatch.setattr(datasets, "_urlopen", opener)
    cache = tmp_path / "cache"
    dest = datasets.download("mnist", cache_dir=cache, mirrors=[A, B, C])
    assert dest == cache / "mnist"
    assert _leftovers(dest) == sorted(FILES)  # no temp files
    for fname, blob in fake_mnist.items():
        assert (dest / fname).read_bytes() == blob
    assert opener.calls[:3] == [A + FILES[0], B + FILES[0], C + FILES[0]]
    images, labels = datasets.load_mnist("test", data_dir=cache)
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)

    # Present and valid: skipped, the network is not touched.
    opener.calls.clear()
    datasets.download("mnist", cache_dir=cache, mirrors=[A, B, C])
    assert opener.calls == []

    # Present but corrupt: replaced.
    (dest / FILES[3]).write_bytes(b"junk")
    datasets.download("mnist", cache_dir=cache, mirrors=[C])
    assert opener.calls == [C + FILES[3]]
    assert (dest / FILES[3]).read_bytes() == fake_mnist[FILES[3]]


def test_download_default_cache_and_mirrors(fake_mnist, monkeypatch):
    seen = []

    def opener(url, timeout):
        seen.append(url)
        return io.BytesIO(fake_mnist[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(datasets, "_urlopen", opener)
    dest = datasets.download("mnist")
    assert dest == datasets.default_cache_dir() / "mnist"
    assert all(u.startswith(datasets.MIRRORS["mnist"][0]) for u in seen)
    assert datasets.load_mnist("test")[0].shape == (10000, 28, 28)


@pytest.mark.parametrize("modes", [("wrong",), ("broken", "wrong"), ("down", "wrong")])
def test_failed_download_leaves_nothing(tmp_path, fake_mnist, monkeypatch, modes):
    mirrors = [f"https://m{i}.example/" for i in range(len(modes))]
    opener = FakeOpener(fake_mnist, dict(zip(mirrors, modes)))
    monkeypatch.setattr(datasets, "_urlopen", opener)
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError) as info:
        datasets.download("mnist", cache_dir=cache, mirrors=mirrors)
    assert isinstance(info.value, DataError)
    msg = str(info.value)
    for m in mirrors:
        assert m + FILES[0] in msg
    if "wrong" in modes:
        assert "checksum mismatch" in msg
        assert datasets.expected_sha256("mnist", FILES[0]) in msg
    assert _leftovers(cache / "mnist") == []
    assert opener.calls == [m + FILES[0] for m in mirrors]


def test_download_rejects_unknown_name():
    with pytest.raises(ValueError, match="valid names"):
        datasets.download("svhn")


# --------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------

@needs_real_data
def test_normalize_mean_intensity_real_fashion():
    images, _ = datasets.load_fashion_mnist("test", data_dir=REAL_DATA)
    out = datasets.normalize_mean_intensity(images)
    assert out.dtype == np.float32 and out.shape == images.shape
    means = out.reshape(len(out), -1).mean(axis=1, dtype=np.float64)
    nonempty = images.reshape(len(images), -1).any(axis=1)
    np.testing.assert_allclose(means[nonempty], 30.0, rtol=1e-5)
    # Pure scaling: the pixel ratios are unchanged.
    i = 123
    np.testing.assert_allclose(out[i] * images[i].mean(), images[i] * 30.0, rtol=1e-5)

    q = datasets.normalize_mean_intensity(images, quantize=True)
    assert q.dtype == np.float32 and q.max() <= 255 and np.all(q == np.round(q))
    qmeans = q.reshape(len(q), -1).mean(axis=1)
    assert np.all(qmeans <= 30.5)
    assert np.median(np.abs(qmeans - 30)) < 0.1


def test_normalize_mean_intensity_details():
    imgs = np.array([
        [[0, 5], [1, 2]],       # mean 2
        [[0, 0], [0, 0]],       # empty: stays zero
        [[255, 0], [0, 0]],     # mean 63.75
    ], dtype=np.uint8)
    out = datasets.normalize_mean_intensity(imgs, target_mean=1.0)
    np.testing.assert_allclose(out[0], [[0, 2.5], [0.5, 1.0]])
    assert np.all(out[1] == 0) and np.all(np.isfinite(out))
    np.testing.assert_allclose(out.reshape(3, -1).mean(axis=1), [1, 0, 1], rtol=1e-6)
    # quantize: round half away from zero (2.5 -> 3, 0.5 -> 1), saturate at 255.
    q = datasets.normalize_mean_intensity(imgs, target_mean=1.0, quantize=True)
    assert q[0].tolist() == [[0, 3], [1, 1]]
    q = datasets.normalize_mean_intensity(imgs, target_mean=100.0, quantize=True)
    assert q[2].tolist() == [[255, 0], [0, 0]]
    assert datasets.normalize_mean_intensity(imgs, 100.0)[2, 0, 0] == pytest.approx(400)
    # (n, 784)-shaped input works too; input is not modified.
    flat = imgs.reshape(3, 4)
    np.testing.assert_allclose(datasets.normalize_mean_intensity(flat, 1.0), out.reshape(3, 4))
    assert imgs[0, 0, 1] == 5

    with pytest.raises(ValueError, match="shape"):
        datasets.normalize_mean_intensity(np.ones(4))
    with pytest.raises(ValueError, match="target_mean"):
        datasets.normalize_mean_intensity(imgs, target_mean=0)
    with pytest.raises(ValueError, match="non-negative"):
        datasets.normalize_mean_intensity(-np.ones((2, 3)))


# --------------------------------------------------------------------------
# Train/validation split
# --------------------------------------------------------------------------

def test_train_validation_split():
    tr, va = datasets.train_validation_split(60000, 10000, seed=1)
    assert len(tr) == 50000 and len(va) == 10000
    assert tr.dtype == va.dtype == np.int64
    assert np.intersect1d(tr, va).size == 0
    assert np.array_equal(np.sort(np.concatenate([tr, va])), np.arange(60000))
    assert np.all(np.diff(tr) > 0) and np.all(np.diff(va) > 0)
    tr2, va2 = datasets.train_validation_split(60000, 10000, seed=1)
    assert np.array_equal(tr, tr2) and np.array_equal(va, va2)
    _, va3 = datasets.train_validation_split(60000, 10000, seed=2)
    assert not np.array_equal(va, va3)
    expected = np.sort(np.random.default_rng(1).permutation(60000)[:10000])
    assert np.array_equal(va, expected)
    tr0, va0 = datasets.train_validation_split(5, 0, seed=0)
    assert tr0.tolist() == [0, 1, 2, 3, 4] and va0.size == 0


@pytest.mark.parametrize("n, n_val", [(10, 10), (10, 11), (10, -1), (0, 0)])
def test_train_validation_split_rejects(n, n_val):
    with pytest.raises(ValueError, match="n_validation"):
        datasets.train_validation_split(n, n_val, seed=0)


def test_train_validation_split_rejects_non_integers():
    with pytest.raises(TypeError):
        datasets.train_validation_split(10, 2.5, seed=0)


# --------------------------------------------------------------------------
# Packaging
# --------------------------------------------------------------------------

def test_importable_without_brian2():
    code = ("import sys; import bioplastic.data.datasets; "
            "assert 'brian2' not in sys.modules, 'brian2 was imported'")
    subprocess.run([sys.executable, "-c", code], check=True,
                   cwd=Path(__file__).resolve().parents[1])
