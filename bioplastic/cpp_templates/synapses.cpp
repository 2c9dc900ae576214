{#
  bioplastic: dense all-to-all synaptic pathway (see bioplastic/codegen.py).

  Synapse k of the pathway connects presynaptic neuron k // N_post to
  postsynaptic neuron k % N_post (checked in Python before the build), there
  are no delays, so the synapses of a spiking neuron i are the contiguous
  block [i * N_post, (i + 1) * N_post).  Instead of Brian2's spike queue
  (a copy of N_post synapse indices per spike) and an indirect update per
  synapse, the code reads the source's spikespace and updates each block
  with a contiguous loop over the targets, which the compiler vectorises.
  Every target sees the spikes in the same order as with the queue, so the
  results are bit-identical.
#}
{% extends 'common_synapses.cpp' %}

{% block maincode %}
    {# USES_VARIABLES { _synaptic_pre, _synaptic_post, delay } #}
    {# the source's spikespace is not one of this code object's variables: its global array #}
    {% set _eventspace = get_array_name(pathway.source.variables[pathway.eventspace_name], access_data=False) %}
    {% set _post_ptr = get_array_name(pathway.synapse_targets) %}
    {% set _pre_ptr = get_array_name(pathway.synapse_sources) %}
    {% set _dense_code = vector_code | join('\n')
        | replace(_post_ptr ~ '[_idx]', '_j')
        | replace(_pre_ptr ~ '[_idx]', '_i') %}
    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    // once per process: the connectivity must be what the loop below assumes
    static bool _dense_checked = false;
    if (!_dense_checked)
    {
        const size_t _n_pre = {{pathway.source.N}}, _n_post = {{pathway.target.N}};
        bool _ok = {{_dynamic__synaptic_pre}}.size() == _n_pre * _n_post;
        for (size_t _k = 0; _ok && _k < _n_pre * _n_post; _k++)
            _ok = ({{_synaptic_pre}}[_k] == (int32_t)(_k / _n_post)
                   && {{_synaptic_post}}[_k] == (int32_t)(_k % _n_post));
        for (size_t _k = 0; _ok && _k < {{_dynamic_delay}}.size(); _k++)
            _ok = {{delay}}[_k] == 0;
        if (!_ok)
        {
            std::cerr << "bioplastic: synaptic pathway '{{pathway.name}}' was generated as a dense "
                         "all-to-all pathway, but its synapses are not all-to-all in presynaptic-major "
                         "order without delays" << std::endl;
            std::exit(1);
        }
        _dense_checked = true;
    }

    const int32_t* const _events = {{_eventspace}};
    const int _num_events = _events[{{pathway.source.N}}];
    const size_t _n_post = {{pathway.target.N}};
    // targets in blocks that stay in the L1 cache while every spike of the step is applied
    const size_t _block = 512;
    const int _n_blocks = (int)((_n_post + _block - 1) / _block);
    if (_num_events > 0)
    {
    {{ openmp_pragma('parallel') }}
    {
    {{ openmp_pragma('static') }}
    for (int _b = 0; _b < _n_blocks; _b++)
    {
        const size_t _j_start = _b * _block;
        const size_t _j_stop = (_j_start + _block < _n_post) ? _j_start + _block : _n_post;
        for (int _e = 0; _e < _num_events; _e++)
        {
            const size_t _i = _events[_e] - {{pathway.source.start}};
            const size_t _row = _i * _n_post;
            for (size_t _j = _j_start; _j < _j_stop; _j++)
            {
                const size_t _idx = _row + _j;
                const size_t _vectorisation_idx = _idx;
                {{_dense_code|autoindent}}
            }
        }
    }
    }
    }
{% endblock %}
