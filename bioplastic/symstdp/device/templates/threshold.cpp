{#
  bioplastic: Brian2's threshold template in two passes (see bioplastic/codegen.py).
  Brian2 evaluates the condition and appends a spiking neuron to the
  spikespace in one loop with a branch, which the compiler cannot vectorise.
  Here the conditions of all neurons are computed first, in a branch-free
  loop, and the spiking neurons are then collected in index order, skipping
  eight silent neurons at a time.  Same statements, same spikes in the same
  order.  Not for conditions that draw random numbers (their draws would stay
  in order, but the first loop would not vectorise).
#}
{# USES_VARIABLES { N } #}
{% extends 'common_group.cpp' %}
{% block extra_headers %}
#include <cstring>
#include <vector>
{% endblock %}
{% block maincode %}
    //// MAIN CODE ////////////
    // scalar code
    const int _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {% set _eventspace = get_array_name(eventspace_variable) %}
    static std::vector<char> _conditions(N + 8, 0);
    char* const _conds = &_conditions[0];
    // pass 1: every neuron's condition
    for(size_t _idx=0; _idx<N; _idx++)
    {
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
        _conds[_idx] = _cond;
    }
    // pass 2: the spiking neurons, in index order
    long _count = 0;
    for(size_t _block=0; _block<N; _block+=8)
    {
        uint64_t _eight;
        std::memcpy(&_eight, _conds + _block, 8);  // the buffer has 8 spare zeros
        if (_eight == 0)
            continue;
        const size_t _stop = (_block + 8 < N) ? _block + 8 : N;
        for(size_t _idx=_block; _idx<_stop; _idx++)
        {
            if(_conds[_idx]) {
                {{_eventspace}}[_count++] = _idx;
                {% if _uses_refractory %}
                {{not_refractory}}[_idx] = false;
                {{lastspike}}[_idx] = {{t}};
                {% endif %}
            }
        }
    }
    {{_eventspace}}[N] = _count;
{% endblock %}

{% block after_code %}
{% set _eventspace = get_array_name(eventspace_variable) %}
{{_eventspace}}[N] = 0;  // Note that this is not an off-by-1-error: the array has N+1 elements
{% endblock %}
