{#
  bioplastic: Brian2's state update template, with its loop over neurons
  shared between OpenMP threads (BIOPLASTIC_PARALLEL_FOR, see
  bioplastic/engine.py) while the rest of Brian2's code stays serial.  Each
  iteration updates its own neuron: the same results for any thread count.
  For updates that draw no random numbers (bioplastic/codegen.py checks).
#}
{# USES_VARIABLES { N } #}
{# ALLOWS_SCALAR_WRITE #}
{% extends 'common_group.cpp' %}

{% block maincode %}
    //// MAIN CODE ////////////
    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    const int _N = {{constant_or_scalar('N', variables['N'])}};
    BIOPLASTIC_PARALLEL_FOR
    for(int _idx=0; _idx<_N; _idx++)
    {
        // vector code
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
    }
{% endblock %}
