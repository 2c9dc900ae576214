"""Keyed (counter-based) random numbers: the same number for the same key on every device.

Brian2's ``rand()`` draws from one stream per thread: which number a neuron
gets depends on every draw made before it, so a sample's input spikes depend
on the samples evaluated before it, on the chunk it falls in and on how many
copies of the network share the stream.  :func:`keyed_uniform` instead
computes a uniform number in (0, 1) from three integers by a fixed hash
(SplitMix64's finaliser over a mix of the keys): the input spikes of a sample
become a function of (seed, sample, neuron, presentation, step) alone, so an
evaluation gives the same predictions in any order, chunking, process or
batch (``Engine(evaluation="independent")``).

The implementations (C++ for cpp_standalone, the same as a host and device
function for brian2cuda's cuda_standalone, Cython and numpy for runtime)
use the same 64-bit integer arithmetic and the same conversion to double
(the top 53 bits, plus one half, times 2**-53): the numbers are bit-identical
on every target (``tests/test_random_streams.py``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["keyed_uniform", "keyed_uniform_numpy", "KEYED_UNIFORM"]

_M1, _M2, _M3 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_C1, _C2 = 0x632BE59BD9B4E019, 0x8CB92BA72F3D8DD7

_CPP = """
static inline double _bp_keyed_uniform(const int64_t a, const int64_t b, const int64_t c)
{
    uint64_t x = (uint64_t)a * 0x9E3779B97F4A7C15ULL;
    x ^= ((uint64_t)b + 0x632BE59BD9B4E019ULL) * 0xBF58476D1CE4E5B9ULL;
    x ^= ((uint64_t)c + 0x8CB92BA72F3D8DD7ULL) * 0x94D049BB133111EBULL;
    x ^= x >> 30; x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27; x *= 0x94D049BB133111EBULL;
    x ^= x >> 31;
    return ((double)(x >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}
"""

#: brian2cuda (cuda_standalone): the same arithmetic, callable from host and device code.
_CUDA = _CPP.replace("static inline double", "__host__ __device__ static inline double")

_CYTHON = """
ctypedef unsigned long long _bp_u64
cdef double _bp_keyed_uniform(long a, long b, long c):
    cdef _bp_u64 x = (<_bp_u64>a) * 0x9E3779B97F4A7C15ULL
    x ^= ((<_bp_u64>b) + 0x632BE59BD9B4E019ULL) * 0xBF58476D1CE4E5B9ULL
    x ^= ((<_bp_u64>c) + 0x8CB92BA72F3D8DD7ULL) * 0x94D049BB133111EBULL
    x ^= x >> 30
    x *= 0xBF58476D1CE4E5B9ULL
    x ^= x >> 27
    x *= 0x94D049BB133111EBULL
    x ^= x >> 31
    return ((<double>(x >> 11)) + 0.5) * (1.0 / 9007199254740992.0)
"""


def keyed_uniform_numpy(a, b, c):
    """The numpy implementation: uniform in (0, 1) for integer keys (arrays broadcast)."""
    with np.errstate(over="ignore"):
        a = np.asarray(a).astype(np.int64).astype(np.uint64)
        b = np.asarray(b).astype(np.int64).astype(np.uint64)
        c = np.asarray(c).astype(np.int64).astype(np.uint64)
        x = a * np.uint64(_M1)
        x ^= (b + np.uint64(_C1)) * np.uint64(_M2)
        x ^= (c + np.uint64(_C2)) * np.uint64(_M3)
        x ^= x >> np.uint64(30)
        x *= np.uint64(_M2)
        x ^= x >> np.uint64(27)
        x *= np.uint64(_M3)
        x ^= x >> np.uint64(31)
    return ((x >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)


def _make_function():
    from brian2 import Function
    from brian2.codegen.generators import CPPCodeGenerator  # noqa: F401  (registers the targets)

    f = Function(keyed_uniform_numpy, arg_units=[1, 1, 1], return_unit=1,
                 arg_types=["integer", "integer", "integer"], return_type="float", stateless=True)
    f.implementations.add_implementation("cpp", code=_CPP, name="_bp_keyed_uniform")
    f.implementations.add_implementation("cython", code=_CYTHON, name="_bp_keyed_uniform")
    f.implementations.add_implementation("cuda", code=_CUDA, name="_bp_keyed_uniform")
    return f


_FUNCTION = None


def keyed_uniform():
    """The Brian2 :class:`~brian2.Function` ``keyed_uniform(a, b, c)`` (created on first use)."""
    global _FUNCTION
    if _FUNCTION is None:
        _FUNCTION = _make_function()
    return _FUNCTION


#: Name under which the network's namespaces hold the function.
KEYED_UNIFORM = "keyed_uniform"
