{#
  bioplastic: the threshold of the Poisson input group by a calendar (see
  bioplastic.codegen.use_calendar_threshold).  The condition is
  bioplastic.neurons.INPUT_THRESHOLD, "timestep(t, dt) == next_spike and
  <presenting>": a neuron can fire only at the step its next_spike names.
  Brian2's template tests all N neurons every step for a few spikes; here
  each neuron is filed under the step of its next spike within the current
  window, and only the neurons filed under this step are tested, with
  Brian2's own condition code, in index order (same spikes, same order).
  next_spike is written only by the window-start code (every neuron, at the
  first step of a window) and by the reset (the neurons that fired, whose
  indices are still in the spikespace at the next step): the calendar is
  refilled from all neurons at the first step of each window and after any
  gap in the steps (a new run), and otherwise takes the previous step's
  spiking neurons under their new next_spike.
#}
{# USES_VARIABLES { N, t, dt, next_spike } #}
{% extends 'common_group.cpp' %}
{% block extra_headers %}
#include <algorithm>
#include <vector>
{% endblock %}
{% block maincode %}
    //// MAIN CODE ////////////
    // scalar code
    const int _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {% set _eventspace = get_array_name(eventspace_variable) %}
    {% set _next = get_array_name(variables['next_spike']) %}
    {% set _t = get_array_name(variables['t']) %}
    {% set _dt = get_array_name(variables['dt']) %}
    // _calendar[k]: the neurons whose next spike is due at step _window_start + k
    static std::vector<std::vector<int32_t> > _calendar;
    static int64_t _window_start = -1;
    static int64_t _last_step = -2;
    const int64_t _W = window_steps;
    const int64_t _step = (int64_t)(({{_t}}[0] + 1e-3*{{_dt}}[0]) / {{_dt}}[0]);
    const int64_t _ws = _step - _step % _W;
    if ((int64_t)_calendar.size() != _W || _ws != _window_start || _step != _last_step + 1)
    {
        // a new window (the window-start code has just set every next_spike) or a new run
        _calendar.resize(_W);
        for (int64_t _k = 0; _k < _W; _k++)
            _calendar[_k].clear();
        for (int32_t _i = 0; _i < (int32_t)N; _i++)
        {
            const int64_t _k = (int64_t){{_next}}[_i] - _ws;
            if (_k >= 0 && _k < _W)
                _calendar[_k].push_back(_i);
        }
        _window_start = _ws;
    }
    else
    {
        // the neurons that fired at the previous step: their reset set a new next_spike
        const int32_t _n_fired = {{_eventspace}}[N];
        for (int32_t _j = 0; _j < _n_fired; _j++)
        {
            const int32_t _i = {{_eventspace}}[_j];
            const int64_t _k = (int64_t){{_next}}[_i] - _ws;
            if (_k >= 0 && _k < _W)
                _calendar[_k].push_back(_i);
        }
    }
    _last_step = _step;
    std::vector<int32_t>& _due = _calendar[_step - _ws];
    if (_due.size() > 1)
        std::sort(_due.begin(), _due.end());  // index order, as Brian2's loop
    long _count = 0;
    for (size_t _j = 0; _j < _due.size(); _j++)
    {
        const size_t _idx = _due[_j];
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
        if(_cond) {
            {{_eventspace}}[_count++] = _idx;
            {% if _uses_refractory %}
            {{not_refractory}}[_idx] = false;
            {{lastspike}}[_idx] = {{t}};
            {% endif %}
        }
    }
    _due.clear();
    {{_eventspace}}[N] = _count;
{% endblock %}

{% block after_code %}
{% set _eventspace = get_array_name(eventspace_variable) %}
{{_eventspace}}[N] = 0;  // Note that this is not an off-by-1-error: the array has N+1 elements
{% endblock %}
