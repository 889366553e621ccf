"""The catalogue of template constructs that once made one C-level operation as expensive as its
author liked (issue 25), and what the refusal of each must name. The tests save and preview each
one; bench/hostile_templates.py runs them against a server and times /health meanwhile."""

from __future__ import annotations

from dataclasses import dataclass

WIDE = "200000000"


@dataclass(frozen=True)
class Hostile:
    name: str
    source: str
    refusal_names: str  # a phrase the 422's message must contain


def _method(name: str, call: str) -> Hostile:
    return Hostile(f"{name}() with a huge width", "Hi {{ " + call + " }}", f"{name}() method")


def _filter(name: str, call: str) -> Hostile:
    return Hostile(f"the {name} filter", "Hi {{ " + call + " }}", f"{name} filter")


CATALOGUE = [
    Hostile("nested powers", "{{ (((9**64)**64)**64)**8 }}", "power"),
    Hostile("a power with a computed exponent", "{% set n = minutes * 100 %}{{ 9 ** n }}", "power"),
    Hostile("a power in a guard", '{% if first_name != "Maria" %}{{ (9**64)**64 }}{% endif %}', "power"),
    Hostile("% formatting with a huge width", '{{ "%0' + WIDE + 'd" % 1 }}', "% formatting"),
    Hostile("% formatting of a value", "{{ first_name % () }}", "% formatting"),
    Hostile("% formatting of joined text", '{{ ("%" ~ "' + WIDE + 's") % first_name }}', "% formatting"),
    _method("ljust", f"first_name.ljust({WIDE})"),
    _method("rjust", f"first_name.rjust({WIDE})"),
    _method("center", f"first_name.center({WIDE})"),
    _method("zfill", f"first_name.zfill({WIDE})"),
    _method("expandtabs", f'"\\t".expandtabs({WIDE})'),
    _method("format", '"{:>' + WIDE + '}".format(first_name)'),
    _method("format_map", '"{x:>' + WIDE + '}".format_map({"x": first_name})'),
    Hostile("a width method by subscript", f'{{{{ first_name["ljust"]({WIDE}) }}}}', "ljust() method"),
    Hostile(
        "a width method by a computed name",
        f'{{% set m = "lj" ~ "ust" %}}{{{{ first_name[m]({WIDE}) }}}}',
        "ljust() method",
    ),
    _filter("center", f"first_name|center({WIDE})"),
    _filter("format", f'"%{WIDE}s"|format(first_name)'),
    _filter("indent", f"first_name|indent({WIDE})"),
    _filter("wordwrap", f"first_name|wordwrap({WIDE})"),
    Hostile("list repetition, then join", "{{ ([[1] * 5000] * 5000)|join }}", "longer than"),
    Hostile(
        "list repetition by a computed count", "{{ [first_name] * (minutes * 100000) }}", "computed count"
    ),
    Hostile("text repetition by a computed count", '{{ "ab" * (minutes * 100000) }}', "computed count"),
    Hostile("a value repeated by a computed count", "{{ first_name * (minutes * 100000) }}", "longer than"),
    Hostile("round to a huge number of digits", "{{ 7|round(-2000000) }}", "round()"),
    Hostile(
        "doubling with ~",
        "{% set a = first_name * 1000 %}" + "{% set a = a ~ a %}" * 15 + "{{ a|length }}",
        "longer than",
    ),
    Hostile(
        "replace that multiplies", '{{ (first_name * 1000)|replace("", first_name * 1000) }}', "longer than"
    ),
    Hostile("a join with a huge separator", "{{ range(1000)|join(first_name * 1000) }}", "longer than"),
    Hostile(
        "doubling in a macro",
        "{% macro d(x) %}{{ x }}{{ x }}{% endmacro %}{{ d(d(d(d(first_name)))) }}",
        "{% macro %}",
    ),
    Hostile(
        "doubling in a block set", "{% set a %}{{ first_name }}{{ first_name }}{% endset %}{{ a }}", "endset"
    ),
    Hostile("a recursive loop", "{% for x in [[1]] recursive %}{{ loop(x) }}{% endfor %}", "recursive"),
    Hostile(
        "three nested loops",
        "{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}"
        "{% endfor %}{% endfor %}{% endfor %}",
        "takes longer than",
    ),
]
