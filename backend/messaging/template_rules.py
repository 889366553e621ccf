"""What a tenant's message template may contain, checked on its parse tree before it ever runs.

A message template fills a few values into a sentence. Everything it needs is output, `if`, `for`,
`set` and a handful of filters and text methods. What it does not need is refused here, by name,
so its author learns what to change: the constructs that make one C-level operation as expensive
as an attacker likes (padding to a width, `%` and `format` formatting, huge powers, repetition by a
computed count), and the tags that build text out of sight of the runtime guards (macros, call and
filter blocks, block `set`, recursive loops, includes). What can only be known from the values
(`first_name * n`) is guarded again at run time by the sandbox (`template_sandbox.py`).
"""

from __future__ import annotations

from jinja2 import nodes

MAX_OUTPUT_CHARS = 5_000
# A power or product above this many bits costs real time in one C call, and no message needs one.
MAX_INT_BITS = 4_096
SAFE_FILTERS = frozenset(
    {
        "capitalize",
        "default",
        "d",
        "e",
        "escape",
        "first",
        "int",
        "join",
        "last",
        "length",
        "lower",
        "replace",
        "round",
        "string",
        "title",
        "trim",
        "truncate",
        "upper",
    }
)
# Methods that read or recase a value; none of them makes it longer than a fixed factor.
# (`cycle` and `changed` are the `loop` helpers of a `for`.)
SAFE_METHODS = frozenset(
    {
        "capitalize",
        "casefold",
        "count",
        "endswith",
        "find",
        "get",
        "index",
        "isalnum",
        "isalpha",
        "isdigit",
        "islower",
        "isnumeric",
        "isspace",
        "istitle",
        "isupper",
        "items",
        "keys",
        "lower",
        "lstrip",
        "partition",
        "removeprefix",
        "removesuffix",
        "replace",
        "rfind",
        "rindex",
        "rpartition",
        "rsplit",
        "rstrip",
        "split",
        "splitlines",
        "startswith",
        "strip",
        "swapcase",
        "title",
        "upper",
        "values",
        "cycle",
        "changed",
    }
)
# Methods whose one argument is a width or a format: each is a single allocation of any size.
WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs", "format", "format_map"})
ALLOWED_TAGS = (nodes.Output, nodes.If, nodes.For, nodes.Assign, nodes.With)
TAG_NAMES = {
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.FilterBlock: "{% filter %}",
    nodes.AssignBlock: "{% set %}…{% endset %} (use {% set name = … %})",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from … import %}",
    nodes.Extends: "{% extends %}",
    nodes.Block: "{% block %}",
}
# Expressions that are text (or a list) whatever the values: `%` after one formats, `*` repeats.
_TEXTUAL = (nodes.TemplateData, nodes.Concat, nodes.List, nodes.Tuple)


class TemplateRefused(Exception):
    """A template that may not be used, and why.

    `str()` is for the person who wrote it, and may quote the values it was rendered with;
    `reason` says what went wrong without them, for logs and the outbox (no patient data).
    """

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


def check(tree: nodes.Template) -> None:
    """Refuse the first construct of `tree` a message template may not use."""
    for node in tree.find_all(nodes.Node):
        _check_tag(node)
        _check_expression(node)


def _check_tag(node: nodes.Node) -> None:
    if isinstance(node, nodes.Stmt) and not isinstance(node, ALLOWED_TAGS):
        tag = TAG_NAMES.get(type(node), f"the {type(node).__name__.lower()} statement")
        raise TemplateRefused(f"{tag} is not available in message templates")
    if isinstance(node, nodes.For) and node.recursive:
        raise TemplateRefused("recursive loops are not available in message templates")


def _check_expression(node: nodes.Node) -> None:
    if isinstance(node, nodes.Filter) and node.name not in SAFE_FILTERS:
        raise TemplateRefused(
            f"the {node.name} filter is not available in message templates; "
            f"these are: {', '.join(sorted(SAFE_FILTERS))}"
        )
    if isinstance(node, nodes.Mod) and _is_text(node.left):
        raise TemplateRefused(_PERCENT_FORMATTING)
    if (name := _attribute_name(node)) is not None:
        _check_method(name, called=False)
    if isinstance(node, nodes.Call) and (name := _attribute_name(node.node)) is not None:
        _check_method(name, called=True)
    if isinstance(node, nodes.Pow):
        bits = _bits(node)
        if bits is not None and bits > MAX_INT_BITS:
            raise TemplateRefused(power_refusal(bits))
    if isinstance(node, nodes.Mul):
        _check_repetition(node)


_PERCENT_FORMATTING = (
    "string % formatting is not allowed in message templates; write {{ value }} where it goes"
)


def percent_formatting_refusal() -> TemplateRefused:
    return TemplateRefused(_PERCENT_FORMATTING)


def power_refusal(bits: int) -> str:
    return f"a power of about {bits} bits is not allowed (at most {MAX_INT_BITS})"


def method_refusal(name: str) -> TemplateRefused:
    if name in WIDTH_METHODS:
        return TemplateRefused(
            f"the {name}() method is not allowed in message templates: it pads or formats text to a width"
        )
    return TemplateRefused(
        f"the {name}() method is not available in message templates; these are: "
        f"{', '.join(sorted(SAFE_METHODS - {'cycle', 'changed'}))}"
    )


def _check_method(name: str, *, called: bool) -> None:
    if name in WIDTH_METHODS or (called and name not in SAFE_METHODS):
        raise method_refusal(name)


def _attribute_name(node: nodes.Node) -> str | None:
    """The attribute `node` reads by a name written in the source: `x.name` or `x["name"]`."""
    if isinstance(node, nodes.Getattr):
        return node.attr
    if (
        isinstance(node, nodes.Getitem)
        and isinstance(node.arg, nodes.Const)
        and isinstance(node.arg.value, str)
    ):
        return node.arg.value
    return None


def _is_text(node: nodes.Node) -> bool:
    if isinstance(node, nodes.Const):
        return isinstance(node.value, str)
    return isinstance(node, _TEXTUAL) or (isinstance(node, nodes.Filter) and node.name in ("string", "join"))


def _check_repetition(node: nodes.Mul) -> None:
    """`text * count` and `list * count`: the count must be written as a number, and small enough."""
    for sequence, count in ((node.left, node.right), (node.right, node.left)):
        if not _is_text(sequence):
            continue
        if not (isinstance(count, nodes.Const) and isinstance(count.value, int)):
            raise TemplateRefused(
                "repeating text or a list by a computed count is not allowed in message templates; "
                "write the count as a number"
            )
        if isinstance(sequence, nodes.Const) and len(sequence.value) * count.value > MAX_OUTPUT_CHARS:
            raise TemplateRefused(f"that repetition makes text longer than {MAX_OUTPUT_CHARS} characters")


def _bits(node: nodes.Node) -> int | None:
    """An upper bound on the size in bits of a whole-number expression made of literals, or None
    when it depends on values (the sandbox checks those before computing them)."""
    if isinstance(node, nodes.Const):
        value = node.value
        return abs(value).bit_length() if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(node, (nodes.Neg, nodes.Pos)):
        return _bits(node.node)
    if not isinstance(node, (nodes.Pow, nodes.Mul, nodes.Add, nodes.Sub)):
        return None
    left = _bits(node.left)
    if left is None:
        return None
    if isinstance(node, nodes.Pow):
        exponent = node.right
        if not (isinstance(exponent, nodes.Const) and isinstance(exponent.value, int)):
            # A computed exponent: bound it by its own size.
            right = _bits(exponent)
            return None if right is None or left <= 1 else left << min(right, 64)
        return left * exponent.value if left > 1 and exponent.value > 0 else 1
    right = _bits(node.right)
    if right is None:
        return None
    return left + right if isinstance(node, nodes.Mul) else max(left, right) + 1
