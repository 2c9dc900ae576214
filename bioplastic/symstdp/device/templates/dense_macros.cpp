{#
  bioplastic: helpers of the dense all-to-all templates (see bioplastic/codegen.py).
#}
{% macro check_all_to_all(name, n_pre, n_post, pre_ptr, post_ptr, n_synapses, extra_check='', copies=1) %}
    // once per process: the connectivity must be what the dense loops assume
    // (all-to-all within each of the copies' blocks, presynaptic-major)
    static bool _dense_checked = false;
    if (!_dense_checked)
    {
        const size_t _n_pre_c = {{n_pre}} / {{copies}}, _n_post_c = {{n_post}} / {{copies}};
        const size_t _n_syn = (size_t)({{n_pre}}) * _n_post_c;
        bool _ok = (size_t)({{n_synapses}}) == _n_syn;
        for (size_t _k = 0; _ok && _k < _n_syn; _k++)
            _ok = ({{pre_ptr}}[_k] == (int32_t)(_k / _n_post_c)
                   && {{post_ptr}}[_k] == (int32_t)((_k / _n_post_c / _n_pre_c) * _n_post_c + _k % _n_post_c));
        {{extra_check}}
        if (!_ok)
        {
            std::cerr << "bioplastic: '{{name}}' was generated for dense all-to-all synapses, "
                         "but its synapses are not all-to-all (within each copy) in "
                         "presynaptic-major order without delays" << std::endl;
            std::exit(1);
        }
        _dense_checked = true;
    }
{% endmacro %}

{# Brian2's statements for one synapse, with the synapse's indices given directly #}
{% macro dense_statements(vector_code, pre_ptr, post_ptr, i, j) -%}
{{ vector_code | join('\n') | replace(post_ptr ~ '[_idx]', j) | replace(pre_ptr ~ '[_idx]', i) }}
{%- endmacro %}
