"""State updaters of the sym-STDP network's hidden groups (Brian2 ``method`` objects).

The three integration schemes described in :mod:`bioplastic.symstdp.neurons`:
forward Euler with a floor (:class:`BoundedEuler`, the GeNN scheme),
branch-free exponential Euler (:class:`BranchFreeExponentialEuler`) and
linear implicit (backward) Euler (:class:`LinearImplicitEuler`), and the step
equivalents of linear decay time constants (:func:`step_equivalent_tau`) that
make Euler's decays exact.  They generate code for every device; nothing here
knows the model's equations.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from brian2.parsing.sympytools import sympy_to_str
from brian2.stateupdaters.base import (
    StateUpdateMethod,
    UnsupportedEquationsException,
    extract_method_options,
)
from brian2.stateupdaters.exponential_euler import get_conditionally_linear_system


__all__ = ["BoundedEuler", "LinearImplicitEuler", "linear_implicit_euler", "BranchFreeExponentialEuler",
           "branch_free_exponential_euler", "METHODS", "brian_method", "step_equivalent_tau",
           "DECAY_CONSTANTS"]


def _unmasked(expr):
    """``expr`` with Brian2's refractoriness mask ``int(not_refractory)`` replaced by 1.

    For ``(unless refractory)`` equations Brian2 multiplies the right-hand side
    by ``int(not_refractory)`` *and* writes the new value back only where
    ``not_refractory`` holds (``if not_refractory: v = _v``).  The first mask
    makes the generated C++ branch on every neuron, and a function call such
    as ``exp`` inside a branch is not vectorised; the second mask alone keeps
    refractory neurons where they are.  So the state updaters below take the
    first one out: same values, branch-free loops.
    """
    def is_mask(e):
        return (isinstance(e, sp.Function) and type(e).__name__ == "int_" and len(e.args) == 1
                and isinstance(e.args[0], sp.Symbol) and e.args[0].name == "not_refractory")

    return sp.sympify(expr).replace(is_mask, lambda e: sp.Integer(1))


def _linear_system(equations, variables, name):
    if equations.is_stochastic:
        raise UnsupportedEquationsException(f"{name}: no stochastic equations")
    try:
        system = get_conditionally_linear_system(equations, variables)
    except ValueError:
        raise UnsupportedEquationsException(
            f"{name}: equations must be conditionally linear") from None
    return {var: (_unmasked(A), _unmasked(B)) for var, (A, B) in system.items()}


class BoundedEuler(StateUpdateMethod):
    """Brian2's forward Euler, with the new values of some variables clipped to bounds.

    ``BoundedEuler({"v": ("E_inh", "inf * volt")})`` computes Brian2's
    ``euler`` step and then ``_v = clip(_v, E_inh, inf * volt)`` before the new
    value is written back (only where the neuron is not refractory, as for
    every ``unless refractory`` variable).  This is the GeNN code's floor of the
    excitatory potential, inside the state updater's loop instead of in a loop
    of its own after it (same values: a refractory neuron sits at ``v_reset``,
    above the floor).

    Parameters
    ----------
    bounds : dict
        ``{variable: (lower, upper)}``, expressions in the group's namespace.
    """

    def __init__(self, bounds):
        self.bounds = dict(bounds)

    def __call__(self, equations, variables=None, method_options=None):
        from brian2.stateupdaters.explicit import euler

        lines = euler(equations, variables, method_options).splitlines()
        for var, (low, high) in self.bounds.items():
            new = f"_{var}"
            at = [k for k, line in enumerate(lines) if line.split("=")[0].strip() == new]
            if len(at) != 1:
                raise UnsupportedEquationsException(
                    f"bounded Euler: no single update of {var!r} in Brian2's Euler step")
            lines.insert(at[0] + 1, f"{new} = clip({new}, {low}, {high})")
        return "\n".join(lines)


class LinearImplicitEuler(StateUpdateMethod):
    """Backward Euler for conditionally linear equations, coefficients frozen over a step.

    Every equation ``dx/dt = A x + B`` (``A`` and ``B`` may depend on the
    other variables, not on ``x``) is advanced by
    ``x_new = (x + dt * B) / (1 - dt * A)``, all from the start-of-step values
    (as Brian2's exponential Euler does, with ``exp(A dt)`` replaced by its
    implicit-Euler counterpart).  Unconditionally stable for ``A <= 0``.
    """

    def __call__(self, equations, variables=None, method_options=None):
        extract_method_options(method_options, {})
        system = _linear_system(equations, variables, "linear implicit Euler")
        dt = sp.Symbol("dt")
        code = []
        for var, (A, B) in system.items():
            x = sp.Symbol(var)
            update = x + dt * B if A == 0 else (x + dt * B) / (1 - dt * A)
            code.append(f"_{var} = {sympy_to_str(update)}")
        code += [f"{var} = _{var}" for var in system]
        return "\n".join(code)


class BranchFreeExponentialEuler(StateUpdateMethod):
    """Brian2's exponential Euler, with the refractoriness mask left to the write-back.

    The same update as ``method="exponential_euler"``:
    ``x_new = (x + B/A) * exp(A dt) - B/A`` (``x * exp(A dt)`` when ``B = 0``,
    ``x + dt * B`` when ``A = 0``), with ``int(not_refractory)`` taken out of
    ``A`` and ``B`` (:func:`_unmasked`).  Brian2's generated code computed
    ``exp`` inside a per-neuron branch on the refractory state, which the C++
    compiler cannot vectorise (glibc's vector ``exp`` has no masked variant);
    here it is computed for every neuron and kept only where the neuron is not
    refractory, so the loop vectorises.
    """

    def __call__(self, equations, variables=None, method_options=None):
        extract_method_options(method_options, {})
        system = _linear_system(equations, variables, "exponential Euler")
        dt = sp.Symbol("dt")
        code = []
        for var, (A, B) in system.items():
            x = sp.Symbol(var)
            if A == 0:
                update = x + dt * B
            elif B != 0:
                code.append(f"_BA_{var} = {sympy_to_str(B / A)}")
                ba = sp.Symbol(f"_BA_{var}")
                update = (x + ba) * sp.exp(A * dt) - ba
            else:
                update = x * sp.exp(A * dt)
            code.append(f"_{var} = {sympy_to_str(update)}")
        code += [f"{var} = _{var}" for var in system]
        return "\n".join(code)


#: The backward-Euler state updater (``method="implicit_euler"``).
linear_implicit_euler = LinearImplicitEuler()
#: Exponential Euler as generated for ``method="exponential_euler"``.
branch_free_exponential_euler = BranchFreeExponentialEuler()

#: Integration methods of the hidden groups, by name.
METHODS = ("euler", "exponential_euler", "implicit_euler")


def brian_method(method):
    """The Brian2 ``method`` argument for one of :data:`METHODS` (others pass through)."""
    return {"implicit_euler": linear_implicit_euler,
            "exponential_euler": branch_free_exponential_euler}.get(method, method)


def step_equivalent_tau(tau, dt, method="euler"):
    """Time constant whose (forward or backward) Euler step decays by exactly ``exp(-dt / tau)``.

    Parameters
    ----------
    tau, dt : Quantity
    method : {"euler", "implicit_euler"}

    Returns
    -------
    Quantity
        ``dt / (1 - exp(-dt / tau))`` for forward Euler (slightly larger than
        ``tau + dt / 2``), ``dt / (exp(dt / tau) - 1)`` for backward Euler
        (slightly smaller than ``tau - dt / 2``).
    """
    if method == "implicit_euler":
        return dt / np.expm1(float(dt / tau))
    return dt / (1 - np.exp(-float(dt / tau)))


#: Time constants of linear decays, replaced by their step equivalents under Euler.
DECAY_CONSTANTS = ("tau_ge", "tau_gi", "tau_xpre", "tau_xpost", "tau_theta")


def _integration_namespace(namespace, method, dt, names=DECAY_CONSTANTS):
    """Replace the linear decays' time constants ``names`` by their step equivalents (Euler methods)."""
    if method in ("euler", "implicit_euler"):
        for key in names:
            if key in namespace:
                namespace[key] = step_equivalent_tau(namespace[key], dt, method)
    return namespace
