"""The sweep runner's spec, checks and tables (no cluster here; tests/test_sweep_cluster.py runs cells)."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bioplastic.sweep import (
    SpecError,
    SweepError,
    find_protocol,
    load_spec,
    spec_from_dict,
)
from bioplastic.sweep.runner import check_cells, check_grid, is_finished
from bioplastic.sweep.spec import cell_name, option_argv
from bioplastic.sweep.tables import collect, flat_metrics, main_metric

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "protocols" / "sweeps"


def _spec(**fields):
    data = {"protocol": "supervised_mnist", "fixed": {"n-train": 100}, "grid": {"seed": [0, 1]}}
    data.update(fields)
    return spec_from_dict(data, source="s.toml")


def test_cells_are_the_product_of_the_grid_times_the_zipped_rows():
    spec = _spec(fixed={"n-train": 100, "float32": True, "param": {"stdp_input.nu": 0.02}},
                 grid={"n-hidden": [10, 20], "seed": [0, 1, 2]},
                 zip={"epochs": [1, 2], "n-test": [50, 60]})
    cells = spec.cells()
    assert len(cells) == 2 * 3 * 2
    assert len({c.name for c in cells}) == len(cells)
    first = cells[0]
    assert first.name == "n-hidden=10_seed=0_epochs=1_n-test=50"
    assert first.values == {"n-hidden": 10, "seed": 0, "epochs": 1, "n-test": 50}
    assert first.argv() == ["--n-train", "100", "--float32", "--param", "stdp_input.nu=0.02",
                            "--n-hidden", "10", "--seed", "0", "--epochs", "1", "--n-test", "50"]
    assert spec.axes == ["n-hidden", "seed", "epochs", "n-test"]
    assert spec.field_of("n-test") == "zip.n-test" and spec.field_of("n-train") == "fixed.n-train"


def test_option_values_become_arguments():
    assert option_argv({"a": False, "b": True, "c": [1, 2.5, "x"], "d": 0.1}) == [
        "--b", "--c", "1", "2.5", "x", "--d", "0.1"]
    assert cell_name({"param": "excitatory.tau_theta=1e12*ms", "seed": 0}) == \
        "param=excitatory.tau_theta=1e12-ms_seed=0"


@pytest.mark.parametrize("fields, where", [
    ({"protocl": "x"}, "protocl: unknown field"),
    ({"protocol": ""}, "protocol: required"),
    ({"grid": {"seed": []}}, "grid.seed: empty axis"),
    ({"grid": {"seed": 3}}, "grid.seed: an axis is a list"),
    ({"grid": {"seed": [0, 0]}}, "grid.seed: repeated values"),
    ({"grid": {"seed": [[0]]}}, "grid.seed[0]: unsupported value"),
    ({"fixed": {"n-train": None}}, "fixed.n-train: unsupported value"),
    ({"fixed": {"n-train": [1, True]}}, "fixed.n-train[1]: expected a number or a string"),
    ({"fixed": {"out": "x"}}, "fixed.out: --out is set by the sweep runner"),
    ({"fixed": {"--seed": 1}}, "fixed.--seed: an option name is the protocol's long option"),
    ({"fixed": {"seed": 1}}, "fixed.seed: is also a swept axis"),
    ({"zip": {"a": [1, 2], "b": [1]}}, "zip: zipped axes must have the same length"),
    ({"fixed": 3}, "fixed: must be a table"),
    ({"metric": 3}, "metric: must be the name of a metric"),
])
def test_a_bad_spec_is_one_error_naming_the_field(fields, where):
    with pytest.raises(SpecError) as err:
        _spec(**fields)
    assert str(err.value).startswith("s.toml: ") and where in str(err.value)


def test_spec_files_are_read_and_checked(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('protocol = "supervised_mnist"\n[grid]\nseed = [0, 1]\n')
    assert len(load_spec(good).cells()) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text('protocol = "supervised_mnist"\n[grid\nseed = [0]\n')
    with pytest.raises(SpecError, match="bad.toml: not valid TOML"):
        load_spec(bad)
    with pytest.raises(SpecError, match="cannot read the sweep spec"):
        load_spec(tmp_path / "missing.toml")


def test_every_shipped_spec_is_valid_and_its_protocol_exists():
    specs = sorted(SPECS.glob("*.toml"))
    assert specs, "protocols/sweeps/ holds the families' specs"
    families = set()
    for path in specs:
        spec = load_spec(path)
        script = find_protocol(spec.protocol, spec.source)
        assert script.parent == ROOT / "protocols"
        families.add(script.name.split("_")[0])
        assert spec.cells()
        check_cells(spec, spec.cells(), script)      # every option value is accepted by the protocol
    assert {"supervised", "surrogate", "ttfs", "adaptive"} <= families


def test_protocols_are_found_by_name_and_a_missing_one_is_an_error():
    assert find_protocol("supervised_mnist") == ROOT / "protocols" / "supervised_mnist.py"
    assert find_protocol("ttfs_mnist.py") == ROOT / "protocols" / "ttfs_mnist.py"
    with pytest.raises(SweepError, match="protocol 'no_such_protocol': no no_such_protocol.py in"):
        find_protocol("no_such_protocol")


@pytest.mark.parametrize("fields, message", [
    ({"grid": {"n-hiden": [10, 20]}}, "grid.n-hiden: supervised_mnist.py refuses it: unrecognized arguments"),
    ({"fixed": {"n-train": -5}}, "fixed.n-train: supervised_mnist.py refuses it: argument --n-train"),
    ({"grid": {"seed": [0, "one"]}}, "grid.seed: supervised_mnist.py refuses it: argument --seed"),
    ({"fixed": {"device": "tpu"}}, "fixed.device: supervised_mnist.py refuses it: argument --device"),
])
def test_cells_are_checked_by_the_protocols_own_parser(fields, message):
    spec = _spec(**fields)
    script = find_protocol(spec.protocol)
    with pytest.raises(SpecError) as err:
        check_cells(spec, spec.cells(), script)
    assert message in str(err.value)


def test_a_changed_grid_on_the_same_directory_is_refused(tmp_path):
    spec = _spec()
    check_grid(tmp_path, spec)
    check_grid(tmp_path, spec)                         # the same spec: fine
    check_grid(tmp_path, _spec(metric="n_test"))       # the main metric only changes the figure
    with pytest.raises(SweepError, match=r"differs in: fixed.n-test, grid.seed\)"):
        check_grid(tmp_path, _spec(fixed={"n-train": 100, "n-test": 5}, grid={"seed": [0, 1, 2]}))
    with pytest.raises(SweepError, match=r"differs in: protocol\)"):
        check_grid(tmp_path, _spec(protocol="supervised_fashion_mnist"))


def _fake_cell(out, cell, metrics, status="finished"):
    d = out / "cells" / cell.name
    d.mkdir(parents=True)
    (d / "run.json").write_text(json.dumps({"status": status}))
    (d / "metrics.json").write_text(json.dumps(metrics))


def test_tables_and_figure_from_finished_cells(tmp_path):
    spec = _spec(grid={"n-hidden": [10, 20], "seed": [0, 1]}, metric="test_accuracy_supervised")
    cells = spec.cells()
    for k, cell in enumerate(cells):
        if k == 3:
            _fake_cell(tmp_path, cell, {"test_accuracy_supervised": 0.9}, status="running")
            continue
        _fake_cell(tmp_path, cell, {"test_accuracy_supervised": 0.1 * (k + 1), "n_test": 100,
                                    "device": "cpp", "timing": {"train": 2.0}, "bad": float("nan")})
    assert not is_finished(tmp_path / "cells" / cells[3].name)
    table, summary = collect(tmp_path, spec, cells)
    assert set(table["cell"]) == {c.name for c in cells[:3]}
    assert set(table["metric"]) == {"test_accuracy_supervised", "n_test", "timing.train"}
    assert list(table.columns) == ["cell", "n-hidden", "seed", "metric", "value"]
    assert summary["n-hidden"].tolist() == [10, 20] and summary["n"].tolist() == [2, 1]
    assert summary["mean"].tolist() == pytest.approx([0.15, 0.3])
    assert summary["std"].iloc[0] == pytest.approx(0.0707107, rel=1e-5)
    on_disk = pd.read_csv(tmp_path / "results.csv")
    assert len(on_disk) == len(table)
    assert (tmp_path / "summary.csv").exists() and (tmp_path / "figure.png").stat().st_size > 1000


def test_metric_names():
    assert flat_metrics({"a": 1, "b": {"c": True, "d": 2}, "e": "x"}) == {"a": 1.0, "b.d": 2.0}
    spec = _spec()
    table = pd.DataFrame({"metric": ["build_seconds", "test_accuracy_assignment", "test_accuracy_supervised"]})
    assert main_metric(spec, table) == "test_accuracy_assignment"
    assert main_metric(_spec(metric="build_seconds"), table) == "build_seconds"


def test_cell_wrapper_check_mode_parses_only(tmp_path):
    script = find_protocol("supervised_mnist")
    ok = subprocess.run([sys.executable, "-m", "bioplastic.sweep._cell", "--check", str(script),
                         "--n-hidden", "10", "--out", str(tmp_path / "x")], capture_output=True, text=True)
    assert ok.returncode == 0 and not (tmp_path / "x").exists()
    bad = subprocess.run([sys.executable, "-m", "bioplastic.sweep._cell", "--check", str(script),
                          "--n-hidden", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and "argument --n-hidden" in bad.stderr


@pytest.mark.parametrize("argv, message", [
    ([], "the following arguments are required: spec"),
    (["s.toml"], "argument --out: required"),
    (["s.toml", "--out", "o", "--workers", "0"], "argument --workers"),
    (["s.toml", "--out", "o", "--scheduler", "tcp://h:1", "--workers", "2"], "only for the LocalCluster"),
])
def test_command_line_errors(argv, message, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bioplastic.sweep", *argv], capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_command_line_bad_spec_is_one_line(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('protocol = "supervised_mnist"\n[grid]\nseed = []\n')
    proc = subprocess.run([sys.executable, "-m", "bioplastic.sweep", str(spec), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"error: {spec}: grid.seed: empty axis (give at least one value)"
    assert not (tmp_path / "o").exists()
