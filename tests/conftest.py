"""Shared fixtures: data location, a clean Brian2 device per test, a tiny real run."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def data_dir():
    """The real MNIST/Fashion-MNIST folder: $BIOPLASTIC_DATA or ../shared/data."""
    env = os.environ.get("BIOPLASTIC_DATA")
    if env and Path(env).is_dir():
        return Path(env)
    return SHARED_DATA if SHARED_DATA.is_dir() else None


requires_data = pytest.mark.skipif(data_dir() is None, reason="MNIST data not found ($BIOPLASTIC_DATA or ../shared/data)")


@pytest.fixture(autouse=True)
def numpy_target():
    """Runtime-mode networks in tests are tiny: compiling them with Cython (a fresh cache in
    CI) was nearly all of their time (the STDP window test: 45 s, with numpy 1 s).  Code that
    picks its target (the Engine's runtime_target, the bridges' target=) is unaffected."""
    if "brian2" not in sys.modules:
        import brian2  # noqa: F401  (cheap once any test has imported it)
    from brian2 import prefs

    target = prefs.codegen.target
    prefs.codegen.target = "numpy"
    yield
    prefs.codegen.target = target


@pytest.fixture(autouse=True)
def restore_device():
    """Reset Brian2's global device after every test (as brian2's own conftest does)."""
    yield
    if "brian2" in sys.modules:
        from brian2 import set_device
        from brian2.devices import reinit_and_delete
        from brian2.core.preferences import prefs

        reinit_and_delete()
        set_device("runtime")
        prefs.core.default_float_dtype = __import__("numpy").float64


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A tiny real run of the MNIST protocol (cpp_standalone, N_E = 40, 600 training samples)."""
    if data_dir() is None:
        pytest.skip("MNIST data not found")
    out = tmp_path_factory.mktemp("runs") / "tiny"
    cmd = [sys.executable, str(ROOT / "protocols" / "supervised_mnist.py"), "--n-hidden", "40",
           "--n-train", "600", "--n-test", "200", "--chunk-size", "100", "--seed", "3",
           "--out", str(out), "--data-dir", str(data_dir()), "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.fixture(scope="session")
def images():
    """The first 600 MNIST training images (pixel values 0-255) and labels."""
    if data_dir() is None:
        pytest.skip("MNIST data not found")
    from bioplastic.data.datasets import load_dataset

    x, y = load_dataset("mnist", "train", data_dir=data_dir())
    return x[:600], y[:600]


@pytest.fixture
def one_torch_thread():
    """Small tensors: torch's thread pool only adds waiting on a shared, busy machine."""
    torch = pytest.importorskip("torch")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
