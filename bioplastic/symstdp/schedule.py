"""The in-model training schedule: sample pointer, presentation/rest, re-presentation.

The whole schedule of Hao et al. (2020) lives inside the simulation, so that the
same model compiles to C++ and CUDA and runs a whole chunk of samples without
Python in the loop:

* time is cut into windows of ``t_present + t_rest``; the phase within a
  window is computed from the integer time step (exact, no float modulo);
* a one-neuron *controller* group holds the pointer into the chunk's data
  (``ptr``), the current input ``intensity``, the number of hidden spikes of
  the current presentation (``n_window``, counted by a synapse from every
  hidden neuron) and the current ``label``;
* on the last time step of each window the controller "spikes"; its reset
  decides: fewer than ``min_spikes`` hidden spikes (and intensity below the
  cap) -> show the same sample again with ``intensity + intensity_step``;
  otherwise -> advance the pointer and go back to ``intensity_init``;
* at the start of each window the controller reads the label of the sample
  it points at from a :class:`~brian2.TimedArray`.

The chunk's data (rates of the K samples and their labels) are
:class:`~brian2.TimedArray` objects indexed by the pointer (``ptr *
sample_period``), which the engine replaces between chunks (``run_args`` in
standalone mode).  Nothing here knows about data files.
"""

from __future__ import annotations

import numpy as np
from brian2 import Hz, NeuronGroup, TimedArray, ms

__all__ = [
    "PRESENTING",
    "WINDOW_END",
    "CONTROLLER_EQS",
    "CONTROLLER_THRESHOLD",
    "CONTROLLER_RESET",
    "CONTROLLER_WINDOW_START",
    "SAMPLE_PERIOD",
    "schedule_namespace",
    "make_stimulus",
    "make_controller",
    "make_sample_ids",
    "clock_args",
    "CONTROLLER_POPULATION_EQS",
]

#: Boolean expression, true while a sample is presented (not during rest).
PRESENTING = "(timestep(t, dt) % window_steps) < present_steps"
#: Boolean expression, true on the last time step of every window (window-level plasticity).
WINDOW_END = "(timestep(t, dt) % window_steps) == window_steps - 1"

#: State of the controller (a group of one neuron).
CONTROLLER_EQS = """
ptr : integer          # index of the current sample in this chunk's data
intensity : 1          # input intensity of the current presentation
n_window : integer     # hidden-layer spikes during the current presentation
label : integer        # class of the current sample (selects the teacher)
rng_seed : integer (shared, constant)   # seed of this chunk's random numbers (standalone)
"""

#: The controller fires on the last time step of every window.
CONTROLLER_THRESHOLD = "timestep(t, dt) % window_steps == window_steps - 1"

#: End of a window: accept the sample (advance) or show it again, brighter.
CONTROLLER_RESET = """
advance = int(n_window >= min_spikes or intensity >= intensity_max)
ptr += advance
intensity = advance * intensity_init + (1 - advance) * clip(intensity + intensity_step, 0, intensity_max)
n_window = 0
"""

#: Start of a window: look up the label of the sample the pointer points at.
CONTROLLER_WINDOW_START = "label = int(sample_labels(ptr * sample_period) + 0.5)"

#: Time unit used to index the per-sample TimedArrays with the integer pointer.
SAMPLE_PERIOD = 1 * ms


def clock_args(dt, clock=None) -> dict:
    """Keyword arguments giving a Brian2 object its time step: a shared ``clock`` if given.

    All groups of the network share one step clock and all per-window
    operations one window clock (:func:`bioplastic.symstdp.network.build_network`):
    the order of operations is the same as with a clock per object (Brian2
    orders by ``when`` and ``order``), but the standalone main loop then
    advances 2 clocks per step instead of about 20 (measured: 8 % of the
    instructions of a training step at N_E = 400 went to clock bookkeeping).
    """
    return {"clock": clock} if clock is not None else {"dt": dt}


def schedule_namespace(input_params) -> dict:
    """Constants the schedule expressions refer to.

    Parameters
    ----------
    input_params : bioplastic.symstdp.params.InputParams

    Returns
    -------
    dict
    """
    return {
        "window_steps": input_params.window_steps,
        "present_steps": input_params.present_steps,
        "min_spikes": int(input_params.min_spikes),
        "intensity_init": float(input_params.intensity_init),
        "intensity_step": float(input_params.intensity_step),
        "intensity_max": float(input_params.intensity_max),
        "sample_period": SAMPLE_PERIOD,
    }


def make_stimulus(chunk_size: int, n_input: int, population=None):
    """The per-chunk data holders: input rates (Hz) and labels, indexed by sample.

    Parameters
    ----------
    chunk_size : int
        Number of samples (and windows) per chunk, K.
    n_input : int
        Number of input neurons (of one copy).
    population : int, optional
        P copies of the network (population mode): the rates of copy ``c``
        are the columns ``c * n_input ... (c + 1) * n_input - 1`` and the
        labels a ``(chunk_size, P)`` array, ``sample_labels(ptr * SAMPLE_PERIOD, c)``.

    Returns
    -------
    stimulus, sample_labels : TimedArray
        ``stimulus(ptr * SAMPLE_PERIOD, i)`` is the base rate of input ``i``
        for sample ``ptr`` (to be multiplied by the intensity);
        ``sample_labels(ptr * SAMPLE_PERIOD)`` its label.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    copies = 1 if population is None else int(population)
    stimulus = TimedArray(
        np.zeros((chunk_size, n_input * copies)) * Hz, dt=SAMPLE_PERIOD, name="stimulus"
    )
    shape = chunk_size if population is None else (chunk_size, copies)
    sample_labels = TimedArray(np.zeros(shape), dt=SAMPLE_PERIOD, name="sample_labels")
    return stimulus, sample_labels


#: Independent evaluation (``evaluation="independent"``): the controller also holds the
#: current sample's identity (from the chunk's ``sample_ids``), how often it has been
#: shown, whether keyed random numbers and the reset to rest are on (``keyed``) and
#: their seed.  Per-neuron (size 1) variables, so that other groups can link to them.
CONTROLLER_INDEPENDENT_EQS = """
sample_id : integer    # identity of the current sample (keys its random numbers)
n_shown : integer      # presentations of the current sample before this one
keyed : 1              # 1: keyed random numbers and every window starts at rest (evaluation)
eval_seed : integer    # seed of the keyed random numbers
"""
CONTROLLER_INDEPENDENT_RESET = "n_shown = (1 - advance) * (n_shown + 1)"
CONTROLLER_INDEPENDENT_WINDOW_START = "sample_id = int(sample_ids(ptr * sample_period) + 0.5)"


def make_sample_ids(chunk_size: int, population=None):
    """The per-chunk TimedArray of sample identities (independent evaluation); ``(chunk_size, P)``
    in population mode."""
    shape = chunk_size if population is None else (chunk_size, int(population))
    return TimedArray(np.zeros(shape), dt=SAMPLE_PERIOD, name="sample_ids")


#: Population mode (P copies of the network in one model, :func:`make_controller` with
#: ``population``): every random number is keyed (:mod:`bioplastic.symstdp.random_streams`),
#: in training by the copy's chunk key and the window within the chunk, so that a copy's
#: spikes do not depend on the other copies (nor on how many there are).
CONTROLLER_POPULATION_EQS = """
chunk_key : integer    # key of this copy's random numbers in a training chunk (its chunk seed)
"""


def make_controller(input_params, sample_labels, dt, name="controller", clock=None,
                    window_clock=None, sample_ids=None, population=None) -> NeuronGroup:
    """The one-neuron group that runs the schedule (one neuron per copy in population mode).

    Parameters
    ----------
    input_params : bioplastic.symstdp.params.InputParams
    sample_labels : TimedArray
        From :func:`make_stimulus`.
    dt : Quantity
        Simulation time step.
    name : str
    clock, window_clock : Clock, optional
        Shared clocks of the time step and of the window (:func:`clock_args`).
    sample_ids : TimedArray, optional
        From :func:`make_sample_ids` (independent evaluation; required with ``population``).
    population : int, optional
        P copies: P controller neurons, neuron ``c`` schedules copy ``c`` from
        column ``c`` of the chunk's labels and sample identities, with its own
        ``chunk_key`` (:data:`CONTROLLER_POPULATION_EQS`).

    Returns
    -------
    NeuronGroup
    """
    if population is not None and sample_ids is None:
        raise ValueError("population mode needs the sample identities (independent evaluation)")
    namespace = schedule_namespace(input_params)
    namespace["sample_labels"] = sample_labels
    eqs, reset, start = CONTROLLER_EQS, CONTROLLER_RESET, CONTROLLER_WINDOW_START
    if sample_ids is not None:
        namespace["sample_ids"] = sample_ids
        eqs += CONTROLLER_INDEPENDENT_EQS
        reset = reset.replace("n_window = 0", CONTROLLER_INDEPENDENT_RESET + "\nn_window = 0")
        start += "\n" + CONTROLLER_INDEPENDENT_WINDOW_START
    if population is not None:
        eqs += CONTROLLER_POPULATION_EQS
        # column c of the (chunk, P) arrays for copy c
        start = start.replace("(ptr * sample_period)", "(ptr * sample_period, i)")
    ctrl = NeuronGroup(
        1 if population is None else int(population),
        eqs,
        threshold=CONTROLLER_THRESHOLD,
        reset=reset,
        namespace=namespace,
        **clock_args(dt, clock),
        name=name,
        # decide after every other group has thresholded this step
        order=10,
    )
    ctrl.intensity = input_params.intensity_init
    ctrl.run_regularly(
        start, **clock_args(input_params.t_window, window_clock), when="start", order=-5,
        name=f"{name}_window_start",
    )
    return ctrl
