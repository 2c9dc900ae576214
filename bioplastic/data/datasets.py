"""MNIST and Fashion-MNIST from the standard IDX gzip files.

The loaders read the original distribution files (``train-images-idx3-ubyte.gz``
and friends), verify every file against the SHA-256 checksums shipped with the
package (``bioplastic/data/SHA256SUMS``), validate the IDX headers and return plain
``uint8`` arrays.  Nothing here imports Brian2.

Where the files are looked for
------------------------------
A *data root* is a folder that holds ``mnist/`` and ``fashion-mnist/``
subfolders, each with the four ``.gz`` files.  When the ``data_dir`` argument
is given (a data root, or directly the dataset's folder), it is the only place
searched: an explicit path that does not hold the files is an error naming
it, never a silent fall-back to other data.  Without it,
:func:`find_data_file` searches, in this order:

1. the folder named by the environment variable ``BIOPLASTIC_DATA``,
2. the user cache, :func:`default_cache_dir`
   (``$XDG_CACHE_HOME/bioplastic/data`` or ``~/.cache/bioplastic/data``).

:func:`download` fills the cache from the official mirrors when the machine
has internet access.

Examples
--------
>>> from bioplastic import datasets
>>> images, labels = datasets.load_mnist("test")        # doctest: +SKIP
>>> images.shape, images.dtype, labels[0]                # doctest: +SKIP
((10000, 28, 28), dtype('uint8'), 7)
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import operator
import os
import tempfile
import threading
import urllib.request
import zlib
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import IO, Union

import numpy as np

__all__ = [
    "ENV_VAR",
    "DATASETS",
    "SPLITS",
    "MIRRORS",
    "FASHION_MNIST_CLASSES",
    "DataError",
    "DataNotFoundError",
    "ChecksumError",
    "CorruptDataError",
    "DownloadError",
    "default_cache_dir",
    "find_data_file",
    "file_sha256",
    "expected_sha256",
    "read_idx",
    "load_dataset",
    "load_mnist",
    "load_fashion_mnist",
    "download",
    "normalize_mean_intensity",
    "train_validation_split",
]

log = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]

#: Environment variable naming a data root (folder with ``mnist/`` and
#: ``fashion-mnist/`` subfolders).
ENV_VAR = "BIOPLASTIC_DATA"

#: Canonical dataset names (also the names of their subfolders).
DATASETS: tuple[str, ...] = ("mnist", "fashion-mnist")

#: Valid values of the ``split`` argument.
SPLITS: tuple[str, ...] = ("train", "test")

#: Class names of Fashion-MNIST, indexed by label.
FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

#: Base URLs tried in order by :func:`download`.  Integrity never depends on
#: the mirror (or on TLS): every file is checked against ``SHA256SUMS``.
MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    "fashion-mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
}

_ALIASES = {
    "mnist": "mnist",
    "fashion-mnist": "fashion-mnist",
    "fashion_mnist": "fashion-mnist",
    "fashionmnist": "fashion-mnist",
}

_IMAGE_MAGIC = 2051  # 0x00000803: unsigned byte, 3 dimensions
_LABEL_MAGIC = 2049  # 0x00000801: unsigned byte, 1 dimension
_ROWS = _COLS = 28
_N_CLASSES = 10

# split -> (images file, labels file, number of records)
_SPLIT_FILES: dict[str, tuple[str, str, int]] = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60000),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10000),
}

# Official sizes in bytes; only used to make error messages more helpful
# (a short file is almost always an interrupted download).
_EXPECTED_SIZES: dict[str, int] = {
    "mnist/train-images-idx3-ubyte.gz": 9912422,
    "mnist/train-labels-idx1-ubyte.gz": 28881,
    "mnist/t10k-images-idx3-ubyte.gz": 1648877,
    "mnist/t10k-labels-idx1-ubyte.gz": 4542,
    "fashion-mnist/train-images-idx3-ubyte.gz": 26421880,
    "fashion-mnist/train-labels-idx1-ubyte.gz": 29515,
    "fashion-mnist/t10k-images-idx3-ubyte.gz": 4422102,
    "fashion-mnist/t10k-labels-idx1-ubyte.gz": 5148,
}

_CHUNK = 1 << 20


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------

class DataError(Exception):
    """Base class of every error raised by :mod:`bioplastic.data.datasets`."""


class DataNotFoundError(DataError, FileNotFoundError):
    """A data file was not found in any of the searched places.

    Attributes
    ----------
    searched : list of pathlib.Path
        Every candidate path that was tried, in order.
    """

    def __init__(self, message: str, searched: Sequence[Path] = ()) -> None:
        super().__init__(message)
        self.searched = list(searched)

    def __str__(self) -> str:  # FileNotFoundError would format (errno, strerror)
        return str(self.args[0]) if self.args else ""


class ChecksumError(DataError):
    """A file's SHA-256 digest differs from the expected one.

    Attributes
    ----------
    path : pathlib.Path
        The offending file.
    expected, actual : str
        Hex SHA-256 digests.
    """

    def __init__(self, message: str, path: Path, expected: str, actual: str) -> None:
        super().__init__(message)
        self.path = path
        self.expected = expected
        self.actual = actual


class CorruptDataError(DataError):
    """A file is not a valid gzip-compressed IDX file of the expected shape."""


class DownloadError(DataError):
    """No mirror delivered a file with the expected checksum."""


# --------------------------------------------------------------------------
# Names and checksums
# --------------------------------------------------------------------------

def _canonical_name(name: str) -> str:
    """Return the canonical dataset name or raise ``ValueError``."""
    key = str(name).strip().lower()
    try:
        return _ALIASES[key]
    except KeyError:
        raise ValueError(
            f"unknown dataset {name!r}; valid names are "
            f"{', '.join(repr(d) for d in DATASETS)} (or 'fashion_mnist')"
        ) from None


def _check_split(split: str) -> tuple[str, str, int]:
    try:
        return _SPLIT_FILES[split]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown split {split!r}; valid values are "
            f"{', '.join(repr(s) for s in SPLITS)}"
        ) from None


@lru_cache(maxsize=None)
def _checksums() -> dict[str, str]:
    """Parse the packaged ``SHA256SUMS`` into ``{"mnist/file.gz": hexdigest}``."""
    text = resources.files("bioplastic.data").joinpath("SHA256SUMS").read_text("ascii")
    sums: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) != 2 or len(parts[0]) != 64:
            raise DataError(f"bioplastic/data/SHA256SUMS line {lineno} is malformed: {line!r}")
        digest, rel = parts
        sums[rel.lstrip("*").strip()] = digest.lower()
    return sums


def expected_sha256(name: str, filename: str) -> str:
    """Expected SHA-256 of one distribution file, from the packaged ``SHA256SUMS``.

    Parameters
    ----------
    name : str
        Dataset name (``"mnist"`` or ``"fashion-mnist"``).
    filename : str
        File name, e.g. ``"train-images-idx3-ubyte.gz"``.

    Returns
    -------
    str
        Lower-case hex digest.

    Raises
    ------
    KeyError
        If the file is not listed.
    """
    rel = f"{_canonical_name(name)}/{filename}"
    try:
        return _checksums()[rel]
    except KeyError:
        raise KeyError(f"{rel!r} is not listed in bioplastic/data/SHA256SUMS") from None


_HASH_MEMO: dict[tuple, str] = {}
_HASH_LOCK = threading.Lock()


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: PathLike) -> str:
    """SHA-256 of a file, memoised per (path, device, inode, size, mtime).

    Parameters
    ----------
    path : str or path-like
        File to hash.

    Returns
    -------
    str
        Lower-case hex digest.  A second call on an unchanged file costs one
        ``stat``; any change of size or modification time (or replacement of
        the file) triggers a fresh hash.
    """
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    with _HASH_LOCK:
        cached = _HASH_MEMO.get(key)
    if cached is not None:
        return cached
    digest = _hash_file(p)
    with _HASH_LOCK:
        _HASH_MEMO[key] = digest
    return digest


def _verify(path: Path, expected: str, rel: str | None = None) -> None:
    """Raise :class:`ChecksumError` unless ``path`` has SHA-256 ``expected``."""
    actual = file_sha256(path)
    if actual == expected:
        return
    size = path.stat().st_size
    hint = ""
    want = _EXPECTED_SIZES.get(rel or "")
    if want is not None and size != want:
        hint = (f" The file has {size} bytes instead of {want}"
                + (", so it is truncated (an interrupted copy or download?)." if size < want else "."))
    raise ChecksumError(
        f"checksum mismatch for {path}: expected sha256 {expected}, actual sha256 {actual}."
        f"{hint} Delete the file and copy or download it again "
        f"(bioplastic.data.datasets.download() re-fetches into the cache).",
        path=path, expected=expected, actual=actual,
    )


# --------------------------------------------------------------------------
# Finding files
# --------------------------------------------------------------------------

def default_cache_dir() -> Path:
    """The user cache data root.

    Returns
    -------
    pathlib.Path
        ``$XDG_CACHE_HOME/bioplastic/data`` when ``XDG_CACHE_HOME`` is set to an
        absolute path (the XDG spec ignores empty or relative values), else
        ``~/.cache/bioplastic/data``.  The folder is not created.
    """
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "bioplastic" / "data"


def _candidates(name: str, filename: str, data_dir: PathLike | None):
    """Yield ``(label, [paths])`` for every place searched, in order.

    An explicit ``data_dir`` is the only place searched (no fall-back).
    """
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        paths = [root / name / filename]
        # data_dir may be the dataset folder itself, unless it is clearly the
        # folder of the *other* dataset (both use the same file names).
        if _ALIASES.get(root.name.lower(), name) == name:
            paths.append(root / filename)
        yield f"data_dir argument ({root})", paths
        return
    yield "data_dir argument: not given", []
    env = os.environ.get(ENV_VAR, "")
    if env:
        root = Path(env).expanduser()
        yield f"${ENV_VAR}={env}", [root / name / filename]
    else:
        yield f"${ENV_VAR}: not set", []
    cache = default_cache_dir()
    yield f"user cache ({cache})", [cache / name / filename]


def find_data_file(name: str, filename: str, data_dir: PathLike | None = None) -> Path:
    """Locate one dataset file.

    Parameters
    ----------
    name : str
        Dataset name: ``"mnist"`` or ``"fashion-mnist"`` (``"fashion_mnist"``
        is accepted too).
    filename : str
        File name inside the dataset folder, e.g. ``"t10k-labels-idx1-ubyte.gz"``.
    data_dir : str or path-like, optional
        A data root holding ``<name>/<filename>``, or directly the dataset's
        folder holding ``<filename>``.  When given, it is the only place
        searched (an explicit path is never silently replaced by other data).

    Returns
    -------
    pathlib.Path
        The file in ``data_dir`` if given; else the first existing file
        among ``$BIOPLASTIC_DATA`` and :func:`default_cache_dir`.  The file
        is *not* verified here; the loaders verify it.

    Raises
    ------
    DataNotFoundError
        If the file is in none of those places.  The message lists every
        place searched and how to get the data.
    ValueError
        If ``name`` is not a known dataset.
    """
    name = _canonical_name(name)
    searched: list[Path] = []
    lines: list[str] = []
    for i, (label, paths) in enumerate(_candidates(name, filename, data_dir), 1):
        for p in paths:
            if p.is_file():
                return p
        searched.extend(paths)
        where = "; ".join(f"{p} (not found)" for p in paths)
        lines.append(f"  {i}. {label}" + (f": {where}" if where else ""))
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        state = "does not exist" if not root.exists() else (
            "is not a folder" if not root.is_dir() else "does not hold it")
        msg = (
            f"{name} file {filename!r} not found in the data folder given explicitly, "
            f"{root} ({state}); looked for "
            + " and ".join(str(p) for p in searched)
            + f".\nAn explicit data folder is the only place searched (${ENV_VAR} and the "
            f"user cache are not used when one is given). Name a folder holding 'mnist/' "
            f"and 'fashion-mnist/' (or the '{name}/' folder itself), or leave it out to use "
            f"${ENV_VAR} or the cache."
        )
        raise DataNotFoundError(msg, searched)
    msg = (
        f"{name} file {filename!r} not found. Searched, in order:\n"
        + "\n".join(lines)
        + "\nTo get the data, do one of:\n"
        f"  - set the environment variable {ENV_VAR} to a folder holding "
        f"'mnist/' and 'fashion-mnist/' subfolders (export {ENV_VAR}=/path/to/data);\n"
        f"  - pass data_dir=... (that folder, or the '{name}/' folder itself);\n"
        f"  - with internet access, call bioplastic.data.datasets.download({name!r}) "
        f"to fetch the files into {default_cache_dir()}."
    )
    raise DataNotFoundError(msg, searched)


# --------------------------------------------------------------------------
# Reading IDX files
# --------------------------------------------------------------------------

def _read_exact(f: IO[bytes], buf: memoryview) -> int:
    """Fill ``buf`` from ``f``; return the number of bytes read (< len at EOF)."""
    got = 0
    while got < len(buf):
        n = f.readinto(buf[got:])
        if not n:
            break
        got += n
    return got


def read_idx(path: PathLike, *, expected_sha256: str | None = None) -> np.ndarray:
    """Read one gzip-compressed unsigned-byte IDX file.

    Parameters
    ----------
    path : str or path-like
        An ``*-idx?-ubyte.gz`` file.
    expected_sha256 : str, optional
        If given, the file is verified first (memoised, see :func:`file_sha256`).

    Returns
    -------
    numpy.ndarray
        ``uint8`` array with the shape given by the IDX header, e.g.
        ``(n, 28, 28)`` for images and ``(n,)`` for labels.

    Raises
    ------
    ChecksumError
        If ``expected_sha256`` is given and does not match.
    CorruptDataError
        If the file is not valid gzip, has a bad magic number (the data type
        byte must be ``0x08``, unsigned byte), holds fewer bytes than its
        header announces (truncated) or has trailing data.  The message names
        the file and its sha256.
    """
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"IDX file {p} does not exist", [p])
    if expected_sha256 is not None:
        _verify(p, expected_sha256.lower(), _rel_of(p))

    def corrupt(why: str) -> CorruptDataError:
        exp = f"expected sha256 {expected_sha256}, " if expected_sha256 else ""
        return CorruptDataError(f"{p} is not a valid IDX gzip file: {why} "
                                f"({exp}actual sha256 {file_sha256(p)})")

    try:
        with gzip.open(p, "rb") as f:
            head = f.read(4)
            if len(head) < 4:
                raise corrupt("file ends inside the header")
            zero, dtype_code, ndim = int.from_bytes(head[:2], "big"), head[2], head[3]
            if zero != 0 or dtype_code != 0x08 or not 1 <= ndim <= 4:
                raise corrupt(f"bad magic number {int.from_bytes(head, 'big')} "
                              f"(expected 2049 for labels or 2051 for images)")
            dims_raw = f.read(4 * ndim)
            if len(dims_raw) < 4 * ndim:
                raise corrupt("file ends inside the header")
            dims = tuple(int.from_bytes(dims_raw[4 * i:4 * i + 4], "big") for i in range(ndim))
            out = np.empty(int(np.prod(dims, dtype=np.int64)), dtype=np.uint8)
            got = _read_exact(f, memoryview(out))
            if got < out.size:
                raise corrupt(f"truncated: header announces {dims} = {out.size} bytes "
                              f"of data but only {got} are present")
            if f.read(1):
                raise corrupt(f"trailing data after the {out.size} bytes announced by the header")
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise corrupt(f"gzip stream is damaged or truncated ({type(exc).__name__}: {exc})") from exc
    return out.reshape(dims)


def _rel_of(p: Path) -> str:
    return f"{p.parent.name}/{p.name}"


def _load_split(name: str, split: str, data_dir: PathLike | None) -> tuple[np.ndarray, np.ndarray]:
    name = _canonical_name(name)
    img_file, lab_file, count = _check_split(split)
    arrays = []
    for fname, magic in ((img_file, _IMAGE_MAGIC), (lab_file, _LABEL_MAGIC)):
        path = find_data_file(name, fname, data_dir)
        _verify(path, expected_sha256(name, fname), f"{name}/{fname}")
        arr = read_idx(path)
        want = (count, _ROWS, _COLS) if magic == _IMAGE_MAGIC else (count,)
        if arr.shape != want:
            raise CorruptDataError(f"{path}: IDX shape {arr.shape}, expected {want}")
        arrays.append((path, arr))
    (_, images), (lab_path, labels) = arrays
    if images.shape[0] != labels.shape[0]:  # pragma: no cover - implied by shapes
        raise CorruptDataError(f"{img_file} holds {images.shape[0]} images but "
                               f"{lab_file} holds {labels.shape[0]} labels")
    if labels.size and labels.max() >= _N_CLASSES:
        raise CorruptDataError(f"{lab_path}: label {labels.max()} outside 0..9")
    return images, labels


# --------------------------------------------------------------------------
# Public loaders
# --------------------------------------------------------------------------

def load_dataset(name: str, split: str = "train",
                 data_dir: PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST or Fashion-MNIST.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
        Dataset; ``"fashion_mnist"`` is accepted too (case-insensitive).
    split : {"train", "test"}
        ``"train"`` has 60000 records, ``"test"`` (the ``t10k`` files) 10000.
    data_dir : str or path-like, optional
        Where the files are; when given, the only place searched (else
        ``$BIOPLASTIC_DATA``, then the cache); see :func:`find_data_file`.

    Returns
    -------
    images : numpy.ndarray
        ``uint8``, shape ``(n, 28, 28)``, 0 = background, 255 = full ink.
    labels : numpy.ndarray
        ``uint8``, shape ``(n,)``, values 0..9.

    Raises
    ------
    ValueError
        Unknown ``name`` or ``split``.
    DataNotFoundError
        A file was not found (the message lists every place searched).
    ChecksumError
        A file does not match ``bioplastic/data/SHA256SUMS``.
    CorruptDataError
        A file has a bad IDX header or unexpected shape.
    """
    return _load_split(name, split, data_dir)


def load_mnist(split: str = "train",
               data_dir: PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST (handwritten digits).

    Parameters
    ----------
    split : {"train", "test"}
        Which split.
    data_dir : str or path-like, optional
        See :func:`find_data_file`.

    Returns
    -------
    images : numpy.ndarray
        ``uint8``, shape ``(n, 28, 28)``.
    labels : numpy.ndarray
        ``uint8``, shape ``(n,)``.

    See Also
    --------
    load_dataset : errors raised.
    """
    return _load_split("mnist", split, data_dir)


def load_fashion_mnist(split: str = "train",
                       data_dir: PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load Fashion-MNIST (Zalando article images, classes in :data:`FASHION_MNIST_CLASSES`).

    Parameters
    ----------
    split : {"train", "test"}
        Which split.
    data_dir : str or path-like, optional
        See :func:`find_data_file`.

    Returns
    -------
    images : numpy.ndarray
        ``uint8``, shape ``(n, 28, 28)``, raw (not normalised; see
        :func:`normalize_mean_intensity`).
    labels : numpy.ndarray
        ``uint8``, shape ``(n,)``.

    See Also
    --------
    load_dataset : errors raised.
    """
    return _load_split("fashion-mnist", split, data_dir)


# --------------------------------------------------------------------------
# Download
# --------------------------------------------------------------------------

def _urlopen(url: str, timeout: float) -> IO[bytes]:
    """Open ``url`` for reading (module-level so tests can monkeypatch it)."""
    from bioplastic import __version__
    req = urllib.request.Request(url, headers={"User-Agent": f"bioplastic/{__version__}"})
    return urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 - http(s) mirrors only


def _fetch_one(url: str, target: Path, expected: str, timeout: float) -> None:
    """Download ``url`` to ``target`` atomically; raise on any failure."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, _urlopen(url, timeout) as resp:
            while chunk := resp.read(_CHUNK):
                h.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        actual = h.hexdigest()
        if actual != expected:
            raise ChecksumError(
                f"checksum mismatch for {url}: expected sha256 {expected}, actual sha256 {actual}",
                path=target, expected=expected, actual=actual)
        os.replace(tmp, target)
    finally:
        # Covers every failure, KeyboardInterrupt included; after a successful
        # os.replace the temporary name no longer exists.
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass


def download(name: str, cache_dir: PathLike | None = None,
             mirrors: Sequence[str] | None = None, *, timeout: float = 60.0) -> Path:
    """Download the four files of a dataset into the cache (needs internet).

    Each file is streamed into a temporary file in the destination folder,
    its SHA-256 checked against ``bioplastic/data/SHA256SUMS``, and only then moved
    into place with :func:`os.replace` (atomic).  On any failure the temporary
    file is removed and the next mirror is tried, so the cache never holds a
    half-written or unverified file under its final name.  Files already
    present and valid are skipped; present but invalid ones are replaced.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
        Dataset (``"fashion_mnist"`` accepted).
    cache_dir : str or path-like, optional
        Data root to fill; files go to ``<cache_dir>/<name>/``.  Default
        :func:`default_cache_dir`, which the loaders search last.
    mirrors : sequence of str, optional
        Base URLs (the file name is appended) tried in order.  Default
        ``MIRRORS[name]``.
    timeout : float, optional
        Socket timeout in seconds per request.

    Returns
    -------
    pathlib.Path
        The dataset folder ``<cache_dir>/<name>``.

    Raises
    ------
    DownloadError
        If no mirror delivered one of the files with the right checksum; the
        message lists each URL tried and why it failed.
    ValueError
        Unknown ``name``.
    """
    name = _canonical_name(name)
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    dest = root / name
    dest.mkdir(parents=True, exist_ok=True)
    bases = list(MIRRORS[name] if mirrors is None else mirrors)
    if not bases:
        raise ValueError("mirrors must name at least one base URL")
    files = [f for split in SPLITS for f in _SPLIT_FILES[split][:2]]
    for fname in files:
        target = dest / fname
        expected = expected_sha256(name, fname)
        if target.is_file():
            try:
                _verify(target, expected, f"{name}/{fname}")
                log.info("%s already present and valid", target)
                continue
            except ChecksumError as exc:
                log.warning("%s; downloading it again", exc)
        failures: list[str] = []
        for base in bases:
            url = base.rstrip("/") + "/" + fname
            log.info("downloading %s", url)
            try:
                _fetch_one(url, target, expected, timeout)
            except Exception as exc:  # noqa: BLE001 - any failure: try next mirror
                failures.append(f"  {url}: {type(exc).__name__}: {exc}")
                continue
            break
        else:
            raise DownloadError(
                f"could not download {name}/{fname}; every mirror failed:\n"
                + "\n".join(failures)
                + f"\nNothing was written to {target}. Without internet access, copy "
                f"the files by hand and set {ENV_VAR} or pass data_dir.")
    return dest


# --------------------------------------------------------------------------
# Preprocessing
# --------------------------------------------------------------------------

def normalize_mean_intensity(images: np.ndarray, target_mean: float = 30.0, *,
                             quantize: bool = False) -> np.ndarray:
    """Scale each image so that its mean pixel value is ``target_mean``.

    This is the Fashion-MNIST preprocessing of Hao et al. (2020), repository
    ``haoyz/sym-STDP-SNN``, ``data/normalization/create_normalized_mnist.m``
    (called with ``normalization = 30`` for the train and t10k images).
    There every image ``x`` (read as doubles) is multiplied by the scalar
    ``target_mean / mean(x)`` (``imfilter`` with a 1x1 kernel) and the result
    is written back to an IDX file with ``fwrite(..., 'uint8')``.

    Parameters
    ----------
    images : numpy.ndarray
        Non-negative array of shape ``(n, ...)``; axis 0 indexes images and
        the mean is taken over all other axes (so ``(n, 28, 28)`` and
        ``(n, 784)`` both work; pass a single image as ``image[None]``).
    target_mean : float, optional
        Desired mean pixel value per image, > 0.  Default 30.
    quantize : bool, optional
        ``False`` (default): pure multiplicative scaling, no rounding and no
        clipping, so every non-empty image has mean ``target_mean`` (up to
        float32 rounding) and pixels may exceed 255.
        ``True``: reproduce the authors' stored files exactly: round to the
        nearest integer (halves away from zero) and saturate at 255, which is
        what MATLAB's ``fwrite(..., 'uint8')`` does.  Images with saturated
        pixels then have a mean below ``target_mean`` (in Fashion-MNIST about
        7.7 % of the images have saturated pixels and the lowest resulting mean is
        about 10.7; rounding alone moves the mean by less than 0.5).

    Returns
    -------
    numpy.ndarray
        ``float32`` array of the same shape.  All-zero images stay all zero
        (in MATLAB they become NaN, which ``fwrite`` writes as 0).

    Raises
    ------
    ValueError
        If ``images`` has fewer than 2 dimensions or contains negative or NaN
        values, or if ``target_mean`` is not a positive finite number.
    """
    x = np.asarray(images)
    if x.ndim < 2:
        raise ValueError(f"images must have shape (n, ...), got shape {x.shape}; "
                         "pass a single image as image[None]")
    target = float(target_mean)
    if not (np.isfinite(target) and target > 0):
        raise ValueError(f"target_mean must be a positive finite number, got {target_mean!r}")
    n = x.shape[0]
    flat = x.reshape(n, -1)
    if flat.size and not np.all(flat >= 0):
        raise ValueError("images must be non-negative and free of NaN")
    out = np.empty(flat.shape, dtype=np.float32)
    npix = flat.shape[1]
    step = 4096
    for start in range(0, n, step):
        block = flat[start:start + step].astype(np.float64)
        # Same operation order as the MATLAB reference: mean, then factor, then
        # one multiplication per pixel, all in double precision.
        mean = block.sum(axis=1) / npix if npix else np.zeros(len(block))
        factor = np.zeros_like(mean)
        nonzero = mean > 0
        factor[nonzero] = target / mean[nonzero]
        block *= factor[:, None]
        if quantize:
            np.floor(block + 0.5, out=block)
            np.minimum(block, 255.0, out=block)
        out[start:start + step] = block
    return out.reshape(x.shape)


# --------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------

def train_validation_split(n: int, n_validation: int,
                           seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``range(n)`` into training and validation indices.

    Parameters
    ----------
    n : int
        Number of records, >= 1.
    n_validation : int
        Number of validation records, ``0 <= n_validation < n``.
    seed : int
        Seed for :func:`numpy.random.default_rng`; the same arguments always
        give the same split.

    Returns
    -------
    train_idx : numpy.ndarray
        ``n - n_validation`` indices, sorted ascending (so ``images[train_idx]``
        keeps the file order; shuffle separately if wanted).
    val_idx : numpy.ndarray
        ``n_validation`` indices, sorted ascending.  The validation set is
        the first ``n_validation`` entries of ``default_rng(seed).permutation(n)``.
        Both are ``int64``, disjoint, and together cover ``range(n)``.

    Raises
    ------
    ValueError
        If ``n_validation < 0`` or ``n_validation >= n``.
    TypeError
        If ``n`` or ``n_validation`` is not an integer.
    """
    n = operator.index(n)
    n_validation = operator.index(n_validation)
    if n_validation < 0 or n_validation >= n:
        raise ValueError(f"n_validation must satisfy 0 <= n_validation < n; "
                         f"got n_validation={n_validation}, n={n}")
    perm = np.random.default_rng(seed).permutation(n).astype(np.int64)
    val_idx = np.sort(perm[:n_validation])
    train_idx = np.sort(perm[n_validation:])
    return train_idx, val_idx
