"""Rendering a tenant's own template source: Jinja's sandbox, with limits on what it can cost.

The sandbox already keeps templates from reaching Python internals; it does not keep them from
being expensive. `{{ "a" * 100000000 }}` or three nested loops would hold the thread (and, called
from the event loop, every conversation) for seconds. So here:
- `*`, `**` and `+` are checked before they run: no result longer than the output limit, no huge powers;
- `range` gives at most MAX_RANGE numbers; only text filters without size arguments are available;
- the render has a time budget, enforced by a trace function that counts the template's own Python
  lines (Jinja compiles templates to Python), so a loop of any shape stops;
- the output is capped.
Any failure, a template error or a limit, is a TemplateRefused with the reason for the person
who wrote it.
"""

from __future__ import annotations

import operator
import sys
import time
from collections.abc import Callable, Sized
from types import FrameType
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

MAX_OUTPUT_CHARS = 5_000
MAX_RANGE = 1_000
MAX_EXPONENT = 64
TIME_BUDGET_SECONDS = 0.2
SAFE_FILTERS = (
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
)


class TemplateRefused(Exception):
    pass


def _size(value: object) -> int:
    return len(value) if isinstance(value, Sized) else 0


class LimitedSandbox(SandboxedEnvironment):
    intercepted_binops = frozenset(["*", "**", "+"])

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True)
        self.filters = {name: self.filters[name] for name in SAFE_FILTERS}
        self.globals = {"range": _limited_range}

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "*":
            count = right if isinstance(right, int) else left if isinstance(left, int) else 1
            if max(_size(left), _size(right)) * max(count, 0) > MAX_OUTPUT_CHARS:
                raise TemplateRefused(f"that would make text longer than {MAX_OUTPUT_CHARS} characters")
            return operator.mul(left, right)
        if op == "**":
            if isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
                raise TemplateRefused(f"powers above {MAX_EXPONENT} are not allowed")
            return operator.pow(left, right)
        if _size(left) + _size(right) > MAX_OUTPUT_CHARS:
            raise TemplateRefused(f"that would make text longer than {MAX_OUTPUT_CHARS} characters")
        return operator.add(left, right)


def _limited_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise TemplateRefused(f"range() may give at most {MAX_RANGE} numbers")
    return numbers


_SANDBOX = LimitedSandbox()


def render_untrusted(source: str, context: dict[str, Any]) -> str:
    """The source rendered with `context`, within the limits; TemplateRefused otherwise."""
    try:
        text = _within_budget(lambda: _SANDBOX.from_string(source).render(context))
    except TemplateRefused:
        raise
    except TemplateError as error:
        raise TemplateRefused(f"template error: {error.message}") from None
    except Exception as error:  # anything a template can raise (OverflowError, TypeError, …) is its fault
        raise TemplateRefused(f"the template failed: {type(error).__name__}: {error}"[:300]) from None
    if len(text) > MAX_OUTPUT_CHARS:
        raise TemplateRefused(f"the template renders more than {MAX_OUTPUT_CHARS} characters")
    return text


def _within_budget(render: Callable[[], str]) -> str:
    deadline = time.monotonic() + TIME_BUDGET_SECONDS
    steps = 0

    def trace(frame: FrameType, event: str, arg: object) -> Callable[..., object]:
        nonlocal steps
        steps += 1
        if steps % 512 == 0 and time.monotonic() > deadline:
            raise TemplateRefused(f"the template takes longer than {TIME_BUDGET_SECONDS:g} s to render")
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        return render()
    finally:
        sys.settrace(previous)
