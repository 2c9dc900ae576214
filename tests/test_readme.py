"""The README's IPython example runs as written (against a protocol run in runs/demo)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import data_dir, requires_data

ROOT = Path(__file__).resolve().parents[1]


def readme_example(marker="``tests/test_readme.py`` runs it)::"):
    """The literal block after the paragraph that names this test (``marker``)."""
    text = (ROOT / "README.rst").read_text()
    start = text.index(marker)
    after = text[start:].split("::\n\n", 1)[1]
    block = re.match(r"((?:    [^\n]*\n|\n)+)", after).group(1)
    return "\n".join(line[4:] for line in block.rstrip().splitlines())


def test_the_example_block_is_found():
    code = readme_example()
    assert code.startswith("import bioplastic") and 'bioplastic.load("runs/demo")' in code


@requires_data
@pytest.mark.standalone
def test_readme_example_runs_as_written(tmp_path, tiny_run):
    (tmp_path / "runs").mkdir()
    os.symlink(tiny_run, tmp_path / "runs" / "demo")
    # absolute: the example runs in another folder (CI gives a relative $BIOPLASTIC_DATA)
    env = dict(os.environ, BIOPLASTIC_DATA=str(Path(data_dir()).resolve()), PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", readme_example()], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    label = float(next(ln for ln in lines if ln.startswith("label layer:")).split(":")[1])
    assignment = float(next(ln for ln in lines if ln.startswith("assignment:")).split(":")[1])
    assert 0.3 < label <= 1 and 0.3 < assignment <= 1      # 1000 samples of 50 neurons: well above chance
    assert any(ln.startswith("rotated digits:") for ln in lines)


OWN_RULE = "``tests/test_readme.py`` runs it, \"own rule\")::"


def test_the_own_rule_block_is_found():
    code = readme_example(OWN_RULE)
    assert "PlasticityRule(" in code and "run_supervised(" in code and "model=model" in code


@requires_data
@pytest.mark.standalone
def test_readme_own_rule_trains_through_estimator_and_protocol(tmp_path):
    env = dict(os.environ, BIOPLASTIC_DATA=str(Path(data_dir()).resolve()), PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", readme_example(OWN_RULE)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    est = float(next(ln for ln in lines if ln.startswith("own rule, estimator:")).split(":")[1])
    prot = float(next(ln for ln in lines if ln.startswith("own rule, protocol:")).split(":")[1])
    assert 0.3 < est <= 1 and 0.3 < prot <= 1        # 1000 samples, 50 neurons: well above chance
    import json

    record = json.loads((tmp_path / "runs" / "pair-stdp" / "run.json").read_text())
    rule = record["config"]["model"]["input_rule"]
    assert rule["name"] == "pair-stdp" and "apost_post" in rule["on_pre"]
    assert record["device"] == "cpp_standalone"
