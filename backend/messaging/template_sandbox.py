"""Rendering a tenant's own template source: Jinja's sandbox, with limits on what it can cost.

The sandbox already keeps templates from reaching Python internals; it does not keep them from
being expensive. This runs in a child process (`template_processes.py`) whose CPU time and memory
are capped, so nothing here can stall a server; these rules make a hostile template fail at once,
with a reason its author can act on, instead of at the process's limits:
- the parse tree is checked first (`template_rules.check`): no width, padding or `%` formatting,
  no huge literal powers, no repetition by a computed count, only output, if, for and set;
- every operation that can make a value bigger (`*`, `**`, `+`, `%`, `~`, the replace, join and
  round filters, text methods) checks the size of its result *before* computing it: no text
  longer than the output limit, no number above MAX_INT_BITS, no method outside SAFE_METHODS;
- `range` gives at most MAX_RANGE numbers, and the output stops at MAX_OUTPUT_CHARS;
- a time budget, enforced by a trace function that counts the template's own Python lines (Jinja
  compiles templates to Python), stops any loop.
Any failure, a template error or a limit, is a TemplateRefused with the reason.
"""

from __future__ import annotations

import operator
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from functools import wraps
from types import FrameType
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, pass_eval_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.filters import do_join, do_replace, do_round
from jinja2.nodes import Concat
from jinja2.sandbox import SandboxedEnvironment

from backend.messaging import template_rules
from backend.messaging.template_rules import (
    MAX_INT_BITS,
    MAX_OUTPUT_CHARS,
    SAFE_FILTERS,
    SAFE_METHODS,
    TemplateRefused,
)

MAX_RANGE = 1_000
MAX_ROUND_DIGITS = 20
TIME_BUDGET_SECONDS = 0.2
_TOO_LONG = f"that would make text longer than {MAX_OUTPUT_CHARS} characters"


def weight(value: object, limit: int = MAX_OUTPUT_CHARS) -> int:
    """About how many characters `value` prints as; counting stops once past `limit`."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, int):
        return value.bit_length() // 3 + 1  # decimal digits, near enough
    if isinstance(value, Mapping):
        value = list(value.items())
    if isinstance(value, (list, tuple, set, frozenset, range)):
        total = 2
        for item in value:
            total += weight(item, limit) + 2
            if total > limit:
                break
        return total
    return 8


def _check_size(size: int) -> None:
    if size > MAX_OUTPUT_CHARS:
        raise TemplateRefused(_TOO_LONG)


def _check_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise TemplateRefused(template_rules.power_refusal(bits))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _repeated_size(left: object, right: object) -> int | None:
    """The size of `left * right` if one of them is a sequence repeated by the other."""
    for sequence, count in ((left, right), (right, left)):
        if isinstance(sequence, (str, list, tuple)) and isinstance(count, int):
            return weight(sequence) * max(count, 0)
    return None


class _GuardedConcat(CodeGenerator):
    """`a ~ b` compiles to the environment's `joined`, which checks the size before joining."""

    def visit_Concat(self, node: Concat, frame: Frame) -> None:
        self.write("environment.joined((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")


class LimitedSandbox(SandboxedEnvironment):
    intercepted_binops = frozenset(["*", "**", "+", "%"])
    code_generator_class = _GuardedConcat

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True)
        guarded = {"replace": _replace, "join": _join, "round": _round}
        self.filters = {name: _limited(guarded.get(name, self.filters[name])) for name in SAFE_FILTERS}
        self.globals = {"range": _limited_range}

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "%":
            if isinstance(left, str):
                raise template_rules.percent_formatting_refusal()
            return operator.mod(left, right)
        if op == "**":
            if _is_int(left) and _is_int(right) and abs(left) > 1 and right > 0:
                _check_bits(left.bit_length() * right)
            return operator.pow(left, right)
        if op == "*":
            if _is_int(left) and _is_int(right):
                _check_bits(left.bit_length() + right.bit_length())
            elif (size := _repeated_size(left, right)) is not None:
                _check_size(size)
            return operator.mul(left, right)
        if not (_is_int(left) or isinstance(left, float)):
            _check_size(weight(left) + weight(right))
        return operator.add(left, right)

    def joined(self, parts: tuple[Any, ...]) -> str:
        _check_size(sum(weight(part) for part in parts))
        return "".join(map(str, parts))

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if callable(value) and attr not in SAFE_METHODS:
            raise template_rules.method_refusal(attr)
        return True

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # Jinja hands out a sandboxed str.format here, before is_safe_attribute is asked; it is
        # not offered at all (a width in a format is one allocation of any size).
        return None

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, str) and getattr(obj, "__name__", None) == "replace":
            _check_replacement(owner, *args, **kwargs)
        return super().call(context, obj, *args, **kwargs)


def _check_replacement(
    text: str, old: object = "", new: object = "", count: object = -1, **_: object
) -> None:
    """`text.replace(old, new, count)` checked before it runs: its result's length is counted."""
    if not (isinstance(old, str) and isinstance(new, str)):
        return  # a TypeError when it runs
    found = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    _check_size(len(text) + found * (len(new) - len(old)))


@pass_eval_context
def _replace(eval_ctx: Any, s: str, old: str, new: str, count: int | None = None) -> str:
    _check_replacement(str(s), old, new, -1 if count is None else count)
    return do_replace(eval_ctx, s, old, new, count)


@pass_eval_context
def _join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> str:
    items = list(value)
    _check_size(sum(weight(item) for item in items) + weight(d) * max(len(items) - 1, 0))
    return do_join(eval_ctx, items, d, attribute)


def _round(value: float, precision: int = 0, method: str = "common") -> float:
    # round(7, -10**8) is a power of ten with a hundred million digits.
    if not isinstance(precision, int) or abs(precision) > MAX_ROUND_DIGITS:
        raise TemplateRefused(f"round() takes at most {MAX_ROUND_DIGITS} digits")
    return do_round(value, precision, method)


def _limited(function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose result is refused when it is longer than the output limit."""

    @wraps(function)
    def limited(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        _check_size(weight(result))
        return result

    return limited


def _limited_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise TemplateRefused(f"range() may give at most {MAX_RANGE} numbers")
    return numbers


_SANDBOX = LimitedSandbox()


def render_untrusted(
    source: str, context: dict[str, Any], budget_seconds: float = TIME_BUDGET_SECONDS
) -> str:
    """The source rendered with `context`, within the limits; TemplateRefused otherwise."""
    try:
        template_rules.check(_SANDBOX.parse(source))
        template = _SANDBOX.from_string(source)
        return _within_budget(lambda: _bounded_output(template.generate(context)), budget_seconds)
    except TemplateRefused:
        raise
    except TemplateSyntaxError as error:  # about the source only: no value in it
        raise TemplateRefused(f"template error: {error.message}") from None
    except TemplateError as error:  # may quote the values rendered with
        reason = f"template error ({type(error).__name__})"
        raise TemplateRefused(f"template error: {error.message}", reason) from None
    except RecursionError:
        raise TemplateRefused("the template nests too deeply") from None
    except MemoryError:
        raise TemplateRefused("the template needs too much memory") from None
    except Exception as error:  # anything a template can raise (OverflowError, TypeError, …) is its fault
        reason = f"the template failed ({type(error).__name__})"
        raise TemplateRefused(f"the template failed: {type(error).__name__}: {error}"[:300], reason) from None


def _bounded_output(pieces: Iterator[str]) -> str:
    text: list[str] = []
    length = 0
    for piece in pieces:
        length += len(piece)
        if length > MAX_OUTPUT_CHARS:
            raise TemplateRefused(f"the template renders more than {MAX_OUTPUT_CHARS} characters")
        text.append(piece)
    return "".join(text)


def _within_budget(render: Callable[[], str], budget_seconds: float) -> str:
    deadline = time.monotonic() + budget_seconds
    steps = 0

    def trace(frame: FrameType, event: str, arg: object) -> Callable[..., object]:
        nonlocal steps
        steps += 1
        if steps % 512 == 0 and time.monotonic() > deadline:
            raise TemplateRefused(f"the template takes longer than {budget_seconds:g} s to render")
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        return render()
    finally:
        sys.settrace(previous)
