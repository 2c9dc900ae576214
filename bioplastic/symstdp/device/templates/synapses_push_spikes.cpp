{#
  bioplastic: dense all-to-all synaptic pathway (see bioplastic/codegen.py).
  Its synapses code reads the source's spikespace directly: nothing is queued.
#}
{% extends 'common_group.cpp' %}

{% block maincode %}
    // dense all-to-all pathway: no spike queue
{% endblock %}
