{#
  bioplastic: dense all-to-all synaptic pathway (see bioplastic/codegen.py).

  Synapse k connects presynaptic neuron k // N_post to postsynaptic neuron
  k % N_post (checked once per run), without delays.  The synapses of a
  spiking presynaptic neuron i are the contiguous block [i * N_post,
  (i + 1) * N_post).  Instead of Brian2's spike queue (a copy of the synapse
  indices per spike) and an indirect update per synapse, the code reads the
  source's spikespace and runs Brian2's own statements over the block, with
  the indices given by the loop.  Every neuron sees the spikes in
  the same order as through the queue: the results are bit-identical.
#}
{% extends 'common_synapses.cpp' %}
{% from 'dense_macros.cpp' import check_all_to_all, dense_statements %}

{% block maincode %}
    {# USES_VARIABLES { _synaptic_pre, _synaptic_post } #}
    {# the source's spikespace is not one of this code object's variables: its global array #}
    {% set _eventspace = get_array_name(pathway.source.variables[pathway.eventspace_name], access_data=False) %}
    {% set _syn = pathway.synapses %}
    {% set _pre_ptr = get_array_name(variables['_synaptic_pre']) %}
    {% set _post_ptr = get_array_name(variables['_synaptic_post']) %}
    {% set _delays = get_array_name(pathway._delays, access_data=False) %}
    {% set _delay_check %}
        for (size_t _k = 0; _ok && _k < {{_delays}}.size(); _k++)
            _ok = {{_delays}}[_k] == 0;
    {% endset %}
    {% set _copies = _syn._bioplastic_copies %}
    {{ check_all_to_all(pathway.name, _syn.source.N, _syn.target.N, _pre_ptr, _post_ptr,
                        _dynamic__synaptic_pre ~ '.size()', _delay_check, _copies) }}

    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    const int32_t* const _events = {{_eventspace}};
    const int _num_events = _events[{{pathway.source.N}}];
    // population mode: {{_copies}} copies, each presynaptic block connected to its own
    // postsynaptic block (with 1 copy: all-to-all)
    {% if _copies > 1 %}
    const size_t _n_pre_copy = {{_syn.source.N}} / {{_copies}};
    {% endif %}
    const size_t _n_post = {{_syn.target.N}} / {{_copies}};
    {% if pathway.prepost != 'pre' %}
    #error "bioplastic: dense templates are for presynaptic pathways only"
    {% endif %}
    // postsynaptic neurons in blocks that stay in the L1 cache while every
    // spike of the step is applied (one block per thread with OpenMP)
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
            const size_t _i = _events[_e];
            const size_t _row = _i * _n_post;
            {% if _copies > 1 %}
            // int32 arithmetic (Brian2's index type: signed, so the compiler may assume
            // no wrap-around and vectorise; with size_t it could not prove the cast exact)
            const int32_t _j_offset = (int32_t)((_i / _n_pre_copy) * _n_post);
            {% endif %}
            for (size_t _j = _j_start; _j < _j_stop; _j++)
            {
                const size_t _idx = _row + _j;
                const size_t _vectorisation_idx = _idx;
                {% if _copies > 1 %}
                const int32_t _jj = _j_offset + (int32_t)_j;
                {{ dense_statements(vector_code, _pre_ptr, _post_ptr, '_i', '_jj') | autoindent }}
                {% else %}
                {{ dense_statements(vector_code, _pre_ptr, _post_ptr, '_i', '_j') | autoindent }}
                {% endif %}
            }
        }
    }
    }
    }
{% endblock %}
