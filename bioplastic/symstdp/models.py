"""Network models as values: which rules and which hidden neuron a network is built from.

A :class:`NetworkModel` names the learning rule of each plastic pathway
(:class:`~bioplastic.symstdp.plasticity.PlasticityRule`) and the hidden
neuron model (:class:`~bioplastic.symstdp.neurons.HiddenNeuron`); ``None``
stands for the part of Hao et al. (2020).  The network around them is always
the same: Poisson input -> excitatory hidden layer with adaptive thresholds
and lateral inhibition -> label layer with a teacher, homeostatic scaling of
both pathways, the in-model schedule, and the same engine (devices,
templates, chunks, checkpoints).

Named models (:data:`MODELS`, the protocols' ``--model``):

* ``"hao-2020"``: the supervised sym-STDP network of Hao, Huang, Dong & Xu
  (2020) with the parameter variants of :func:`~bioplastic.symstdp.params.model_params`.
* ``"diehl-cook-2015"``: the unsupervised network of Diehl & Cook (2015),
  the model Hao et al. extend: their STDP rule
  (:func:`~bioplastic.symstdp.plasticity.diehl_cook_stdp`) on the input
  pathway, their neuron (:data:`~bioplastic.symstdp.neurons.DIEHL_COOK_NEURON`:
  constant theta increment, 50 ms threshold timer, 5 ms refractory period),
  theta_plus 0.05 mV, tau_theta 1e7 ms, input weights normalised to 78
  before every sample, read out by neuron assignment.  The hidden layer
  never sees a label: the label layer and its teacher are kept beside it
  (sym-STDP on the hidden -> label pathway, which feeds nothing back) so
  that the runs also report what a label layer reads from an unsupervised
  hidden layer; the Diehl & Cook readout is the assignment one.
* ``"hao-2020-error-readout"``: Hao et al.'s network with an error-driven
  rule on the hidden -> label pathway instead of sym-STDP
  (:func:`~bioplastic.symstdp.plasticity.normalised_error_rule`; beyond the
  paper).  The hidden layer learns as in the paper (the label pathway feeds
  nothing back); the label layer learns a discriminative readout of it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from brian2 import mV, ms

from bioplastic.symstdp.neurons import DIEHL_COOK_NEURON, HiddenNeuron
from bioplastic.symstdp.plasticity import PlasticityRule, diehl_cook_stdp, normalised_error_rule

__all__ = ["NetworkModel", "MODELS", "HAO_2020", "HAO_2020_ERROR_READOUT", "error_readout_rule",
           "model_for_params",
           "DIEHL_COOK_2015",
           "DIEHL_COOK_2015_DELAYS", "resolve_model",
           "model_record",
           "model_from_record"]


@dataclass(frozen=True)
class NetworkModel:
    """The equations a network is built from; ``None`` parts are those of Hao et al. (2020).

    Parameters
    ----------
    name : str
    input_rule, label_rule : PlasticityRule, optional
        Rules of the input -> hidden and hidden -> label pathways (default:
        sym-STDP with the parameter table's ``stdp_input`` / ``stdp_label``).
    hidden_neuron : HiddenNeuron, optional
        Default :data:`~bioplastic.symstdp.neurons.HAO_2020_NEURON`.
    """

    name: str = "hao-2020"
    input_rule: PlasticityRule | None = None
    label_rule: PlasticityRule | None = None
    hidden_neuron: HiddenNeuron | None = None

    def __post_init__(self):
        for which, kind in (("input_rule", PlasticityRule), ("label_rule", PlasticityRule),
                            ("hidden_neuron", HiddenNeuron)):
            value = getattr(self, which)
            if value is not None and not isinstance(value, kind):
                raise TypeError(f"NetworkModel.{which} must be a {kind.__name__} or None, "
                                f"got {type(value).__name__}")

    def engine_kwargs(self) -> dict:
        """``input_rule``, ``label_rule``, ``hidden_neuron`` for :class:`~bioplastic.symstdp.device.engine.Engine`."""
        return {"input_rule": self.input_rule, "label_rule": self.label_rule,
                "hidden_neuron": self.hidden_neuron}

    def to_dict(self) -> dict:
        return {"name": self.name, **{k: (v.to_dict() if v is not None else None)
                                      for k, v in self.engine_kwargs().items()}}

    @classmethod
    def from_dict(cls, d: dict) -> "NetworkModel":
        def part(key, kind):
            return kind.from_dict(d[key]) if d.get(key) is not None else None

        return cls(name=d["name"], input_rule=part("input_rule", PlasticityRule),
                   label_rule=part("label_rule", PlasticityRule),
                   hidden_neuron=part("hidden_neuron", HiddenNeuron))


HAO_2020 = NetworkModel("hao-2020")
DIEHL_COOK_2015 = NetworkModel("diehl-cook-2015", input_rule=diehl_cook_stdp(),
                               hidden_neuron=DIEHL_COOK_NEURON)
#: Diehl & Cook as their code has it: traces per synapse and input delays uniform in [0, 10 ms)
#: (Brian2's own templates: slower).
DIEHL_COOK_2015_DELAYS = NetworkModel(
    "diehl-cook-2015-delays", input_rule=diehl_cook_stdp(synaptic_traces=True, max_delay=10 * ms),
    hidden_neuron=DIEHL_COOK_NEURON)
#: Hao et al.'s network read out by a label layer that learns with an error-driven rule (beyond the
#: paper).  Its rule here has the default values at N_E = 6400 (eta 0.1, n = 4, w_max 8);
#: :func:`resolve_model` / :func:`model_for_params` derive the rule from the table in use
#: (:func:`error_readout_rule`).
HAO_2020_ERROR_READOUT = NetworkModel("hao-2020-error-readout", label_rule=normalised_error_rule())
#: The named models of the protocols' ``--model``.
MODELS = {"hao-2020": HAO_2020, "hao-2020-error-readout": HAO_2020_ERROR_READOUT,
          "diehl-cook-2015": DIEHL_COOK_2015, "diehl-cook-2015-delays": DIEHL_COOK_2015_DELAYS}
#: Models that take Diehl & Cook's parameter values.
_DIEHL_COOK = ("diehl-cook-2015", "diehl-cook-2015-delays")


def _diehl_cook_params(params):
    """Diehl & Cook's (2015) values in a parameter table of Hao et al. (the rest is shared)."""
    return replace(
        params,
        excitatory=replace(params.excitatory, refractory=5 * ms, theta_plus=0.05 * mV, tau_theta=1e7 * ms,
                           v_thresh=-52 * mV),
        # their normalisation target (78) and weight bound; the initial weights stay uniform in
        # [0, 0.3) (theirs: (U + 0.01) * 0.3)
        stdp_input=replace(params.stdp_input, w_total=78.0, w_max=1.0, w_init_max=0.3),
    )


def error_readout_rule(params):
    """:func:`~bioplastic.symstdp.plasticity.normalised_error_rule` for a parameter table.

    The learning rate per presynaptic spike is ``params.error_readout.eta``
    times the label pathway's mean weight (``stdp_label.w_total /
    n_hidden``), the bound its ``w_max``: the same relative step at every
    N_E; the exponent is ``params.error_readout.exponent``.
    """
    stdp, rule = params.stdp_label, params.error_readout
    return normalised_error_rule(eta=rule.eta * float(stdp.w_total) / params.n_hidden,
                                 exponent=rule.exponent, w_max=float(stdp.w_max))


def resolve_model(model, dataset="mnist", n_hidden=100, parameter_set="paper", overrides=None):
    """The parameter table and the :class:`NetworkModel` of a named or given model.

    Parameters
    ----------
    model : str or NetworkModel
        A name of :data:`MODELS`, or a model of your own (it takes the
        parameter variant of ``dataset`` and ``n_hidden``).
    dataset, n_hidden, parameter_set
        See :func:`bioplastic.symstdp.params.model_params`.
    overrides : dict, optional
        ``{"table.field": value}`` applied to the table
        (:func:`bioplastic.symstdp.params.with_overrides`) before a model's
        rule is derived from it.

    Returns
    -------
    (ModelParams, NetworkModel)
    """
    from bioplastic.symstdp.params import model_params

    if isinstance(model, str):
        if model not in MODELS:
            raise ValueError(f"model must be one of {sorted(MODELS)} or a NetworkModel, got {model!r}")
        net_model = MODELS[model]
    elif isinstance(model, NetworkModel):
        net_model = model
    else:
        raise TypeError(f"model must be a name of {sorted(MODELS)} or a NetworkModel, "
                        f"got {type(model).__name__}")
    params = model_params(dataset, n_hidden, parameter_set)
    if net_model.name in _DIEHL_COOK and net_model == MODELS[net_model.name]:
        params = _diehl_cook_params(params)
    if overrides:
        from bioplastic.symstdp.params import with_overrides

        params = with_overrides(params, dict(overrides))
    return params, model_for_params(net_model, params)


def model_for_params(model, params):
    """The :class:`NetworkModel` of ``model`` for the final parameter table ``params``.

    A named model whose rules follow the table (``"hao-2020-error-readout"``:
    :func:`error_readout_rule`) gets them from ``params``; any other model is
    returned as it is.  :func:`resolve_model` applies this after the
    overrides; callers that change the table further (the estimator) apply it
    to their final table.
    """
    net_model = MODELS.get(model) if isinstance(model, str) else model
    if net_model is None:
        raise ValueError(f"model must be one of {sorted(MODELS)} or a NetworkModel, got {model!r}")
    if net_model == HAO_2020_ERROR_READOUT:
        # the rule's step and bound follow the variant's label pathway
        return replace(net_model, label_rule=error_readout_rule(params))
    return net_model


def model_record(model):
    """JSON form of ``model`` for run records: its name, or its full description."""
    return model if isinstance(model, str) else model.to_dict()


def model_from_record(value):
    """Inverse of :func:`model_record` (a missing entry is Hao et al.'s model)."""
    if value is None:
        return "hao-2020"
    return value if isinstance(value, str) else NetworkModel.from_dict(value)
