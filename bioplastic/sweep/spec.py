"""The sweep specification: which protocol, which fixed options, which grid.

A spec is a TOML file (or the same structure as a dict)::

    # protocols/sweeps/symstdp_size_seeds.toml
    protocol = "supervised_mnist"        # protocols/supervised_mnist.py
    metric = "test_accuracy_supervised"  # the main metric (figure, summary)

    [fixed]                              # options every cell gets
    n-train = "all"
    n-test = "all"
    eval-every = 0

    [grid]                               # every combination of these axes
    n-hidden = [100, 400, 1600]
    seed = [0, 1, 2]

    [zip]                                # axes that vary together (same length)
    # param = ["stdp_input.nu=0.01", "stdp_input.nu=0.02"]
    # epochs = [2, 1]

Option names are the protocol's long options without the leading ``--``.  A
value ``true`` is a flag (``false`` leaves it out), a list in ``[fixed]`` is
an option with several values (``--seeds 0 1 2``), a table is a repeated
``KEY=VALUE`` option (``param = {"stdp_input.nu" = "0.02"}`` gives
``--param stdp_input.nu=0.02``).  The runner owns ``--out`` and ``--resume``.
Every cell's options are checked by the protocol's own parser before anything
runs (:func:`bioplastic.sweep.runner.check_cells`).
"""

from __future__ import annotations

import itertools
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bioplastic.runs import RunError

__all__ = ["SpecError", "SweepError", "Cell", "Spec", "load_spec", "spec_from_dict", "find_protocol"]

_TOP_KEYS = {"protocol", "metric", "fixed", "grid", "zip", "description"}
_RESERVED = {"out", "resume", "help"}
_SCALARS = (bool, int, float, str)


class SweepError(RunError):
    """The sweep cannot run (another grid in the directory, a protocol that cannot be found)."""


class SpecError(SweepError, ValueError):
    """The spec is malformed; the message names the spec file and the field."""


@dataclass(frozen=True)
class Cell:
    """One grid cell: its name (its folder under ``cells/``), its axis values and its options."""

    name: str
    values: dict
    options: tuple = field(default=())

    def argv(self):
        """The protocol's command-line arguments for this cell (without ``--out``/``--resume``)."""
        return list(self.options)


@dataclass(frozen=True)
class Spec:
    """A checked sweep specification (see the module docstring)."""

    protocol: str
    fixed: dict
    grid: dict
    zip: dict
    metric: str | None = None
    description: str = ""
    source: str = "<spec>"

    @property
    def axes(self):
        """The swept axes, in order: grid axes, then zipped axes."""
        return list(self.grid) + list(self.zip)

    def record(self):
        """What defines the sweep (stored in ``sweep.json``; a rerun must match it)."""
        return {"format": "bioplastic.sweep/1", "protocol": self.protocol, "fixed": self.fixed,
                "grid": self.grid, "zip": self.zip}

    def cells(self):
        """Every cell of the grid: the product of the grid axes times the zipped rows."""
        grid_rows = [dict(zip(self.grid, combo)) for combo in itertools.product(*self.grid.values())]
        n_zip = len(next(iter(self.zip.values()))) if self.zip else 1
        zip_rows = [{k: v[i] for k, v in self.zip.items()} for i in range(n_zip)]
        cells, seen = [], {}
        for g in grid_rows:
            for z in zip_rows:
                values = {**g, **z}
                name = cell_name(values)
                if name in seen:
                    seen[name] += 1
                    name = f"{name}_{seen[name]}"
                else:
                    seen[name] = 0
                options = option_argv({**self.fixed, **values})
                cells.append(Cell(name=name, values=values, options=tuple(options)))
        return cells

    def field_of(self, option):
        """The spec field (``fixed.n-hidden``, ``grid.seed``) that gives ``--option``, or None."""
        for section in ("grid", "zip", "fixed"):
            if option in getattr(self, section):
                return f"{section}.{option}"
        return None


def _scalar_text(value):
    if isinstance(value, float):
        return repr(value)
    return str(value)


def option_argv(options):
    """``{"n-hidden": 100, "float32": True, "param": {...}}`` -> ``["--n-hidden", "100", ...]``."""
    argv = []
    for key, value in options.items():
        flag = f"--{key}"
        if isinstance(value, bool):
            if value:
                argv.append(flag)
        elif isinstance(value, dict):
            for k, v in value.items():
                argv += [flag, f"{k}={_scalar_text(v)}"]
        elif isinstance(value, list):
            argv += [flag] + [_scalar_text(v) for v in value]
        else:
            argv += [flag, _scalar_text(value)]
    return argv


def cell_name(values):
    """A folder name from the axis values: ``n-hidden=100_seed=0`` (safe characters only)."""
    if not values:
        return "cell"
    parts = []
    for key, value in values.items():
        text = _scalar_text(value) if not isinstance(value, bool) else str(value).lower()
        parts.append(re.sub(r"[^A-Za-z0-9._=+-]", "-", f"{key}={text}"))
    return "_".join(parts)


def _fail(source, where, what):
    raise SpecError(f"{source}: {where}: {what}")


def _check_name(source, section, key):
    if not isinstance(key, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", key):
        _fail(source, f"{section}.{key}", "an option name is the protocol's long option without '--' "
                                          "(lower case, digits and '-')")
    if key in _RESERVED:
        _fail(source, f"{section}.{key}", f"--{key} is set by the sweep runner, not by the spec")


def _check_value(source, where, value, allow_list=True, allow_table=True):
    if isinstance(value, _SCALARS):
        return
    if isinstance(value, list) and allow_list:
        for i, item in enumerate(value):
            if not isinstance(item, _SCALARS) or isinstance(item, bool):
                _fail(source, f"{where}[{i}]", f"expected a number or a string, got {type(item).__name__}")
        return
    if isinstance(value, dict) and allow_table:
        for k, v in value.items():
            if not isinstance(v, _SCALARS) or isinstance(v, bool):
                _fail(source, f"{where}.{k}", f"expected a number or a string, got {type(v).__name__}")
        return
    _fail(source, where, f"unsupported value {value!r} ({type(value).__name__})")


def _section(source, data, name):
    value = data.get(name, {})
    if not isinstance(value, dict):
        _fail(source, name, f"must be a table of options, got {type(value).__name__}")
    return dict(value)


def spec_from_dict(data, source="<spec>"):
    """Check a spec given as a dict (the parsed TOML); :class:`SpecError` names the bad field."""
    if not isinstance(data, dict):
        raise SpecError(f"{source}: a spec is a table, got {type(data).__name__}")
    for key in data:
        if key not in _TOP_KEYS:
            _fail(source, key, f"unknown field (known: {', '.join(sorted(_TOP_KEYS))})")
    protocol = data.get("protocol")
    if not isinstance(protocol, str) or not protocol:
        _fail(source, "protocol", "required: the protocol script, e.g. \"supervised_mnist\"")
    metric = data.get("metric")
    if metric is not None and not isinstance(metric, str):
        _fail(source, "metric", f"must be the name of a metric in metrics.json, got {metric!r}")
    description = data.get("description", "")
    if not isinstance(description, str):
        _fail(source, "description", "must be a string")
    fixed, grid, zipped = (_section(source, data, s) for s in ("fixed", "grid", "zip"))
    for key, value in fixed.items():
        _check_name(source, "fixed", key)
        _check_value(source, f"fixed.{key}", value)
    for section, axes in (("grid", grid), ("zip", zipped)):
        for key, values in axes.items():
            _check_name(source, section, key)
            if not isinstance(values, list):
                _fail(source, f"{section}.{key}", f"an axis is a list of values, got {values!r}")
            if not values:
                _fail(source, f"{section}.{key}", "empty axis (give at least one value)")
            for i, v in enumerate(values):
                _check_value(source, f"{section}.{key}[{i}]", v, allow_list=False, allow_table=False)
            if section == "grid" and len({repr(v) for v in values}) != len(values):
                _fail(source, f"{section}.{key}", f"repeated values in {values!r}")
    for key in set(fixed) & (set(grid) | set(zipped)):
        _fail(source, f"fixed.{key}", "is also a swept axis; give it in one place")
    for key in set(grid) & set(zipped):
        _fail(source, f"zip.{key}", "is also a grid axis; give it in one place")
    lengths = {k: len(v) for k, v in zipped.items()}
    if len(set(lengths.values())) > 1:
        _fail(source, "zip", f"zipped axes must have the same length, got {lengths}")
    return Spec(protocol=protocol, fixed=fixed, grid=grid, zip=zipped, metric=metric,
                description=description, source=source)


def load_spec(path):
    """Read and check a TOML spec file (:class:`SpecError` for a malformed one)."""
    import tomllib

    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as err:
        raise SpecError(f"cannot read the sweep spec {path}: {err.strerror or err}") from None
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise SpecError(f"{path}: not valid TOML ({err})") from None
    return spec_from_dict(data, source=str(path))


def _package_checkout():
    """The folder above the installed package (a source checkout holds protocols/ there)."""
    return Path(__file__).resolve().parents[2]


def find_protocol(name, spec_source=None):
    """The path of the protocol script *name* (``supervised_mnist``, ``supervised_mnist.py`` or a path).

    Looked up as a path first (relative to the spec file, then the working
    directory), then as ``protocols/<name>.py`` beside the spec file or one of
    its parent folders, in the working directory, and in the source checkout
    the package was installed from.
    """
    name = str(name)
    file = name if name.endswith(".py") else f"{name}.py"
    bases = []
    if spec_source and spec_source != "<spec>":
        bases.append(Path(spec_source).resolve().parent)
    bases.append(Path.cwd())
    for base in bases:
        if ("/" in name or name.endswith(".py")) and (base / name).is_file():
            return (base / name).resolve()
    searched = []
    roots = []
    if spec_source and spec_source != "<spec>":
        spec_dir = Path(spec_source).resolve().parent
        roots += [spec_dir, *spec_dir.parents]
    roots += [Path.cwd(), _package_checkout()]
    for root in roots:
        for candidate in (root / "protocols" / Path(file).name, root / Path(file).name):
            if candidate.is_file() and candidate.parent.name == "protocols":
                return candidate.resolve()
        searched.append(str(root / "protocols"))
    raise SweepError(f"protocol {name!r}: no {Path(file).name} in {', '.join(dict.fromkeys(searched))}")


def python_executable():
    """The interpreter the cells run with (the one running the sweep)."""
    return sys.executable
