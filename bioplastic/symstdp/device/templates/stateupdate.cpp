{#
  bioplastic: per-synapse operation (e.g. a run_regularly) of dense all-to-all
  synapses (see bioplastic/codegen.py and synapses.cpp): a loop over
  presynaptic rows and postsynaptic columns instead of an indexed load of the
  postsynaptic variables; same statements, same results, vectorised.
#}
{# USES_VARIABLES { N, _synaptic_pre, _synaptic_post } #}
{% extends 'common_group.cpp' %}
{% from 'dense_macros.cpp' import check_all_to_all, dense_statements %}

{% block maincode %}
    {% set _syn = owner %}
    {% set _pre_ptr = get_array_name(variables['_synaptic_pre']) %}
    {% set _post_ptr = get_array_name(variables['_synaptic_post']) %}
    {% set _copies = _syn._bioplastic_copies %}
    {{ check_all_to_all(codeobj_name, _syn.source.N, _syn.target.N, _pre_ptr, _post_ptr,
                        constant_or_scalar('N', variables['N']), '', _copies) }}
    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    const int _n_pre = {{_syn.source.N}};
    // {{_copies}} copies (population mode): row i's synapses go to block i / _n_pre_copy
    const size_t _n_post = {{_syn.target.N}} / {{_copies}};
    {% if _copies > 1 %}
    const size_t _n_pre_copy = {{_syn.source.N}} / {{_copies}};
    {% endif %}
    {{openmp_pragma('parallel-static')}}
    for (int _i = 0; _i < _n_pre; _i++)
    {
        const size_t _row = (size_t)_i * _n_post;
        {% if _copies > 1 %}
        // int32 arithmetic: see synapses.cpp (vectorised only so)
        const int32_t _j_offset = (int32_t)(((size_t)_i / _n_pre_copy) * _n_post);
        {% endif %}
        for (size_t _j = 0; _j < _n_post; _j++)
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
{% endblock %}
