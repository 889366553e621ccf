"""Every API operation called with requests Schemathesis generates from our own OpenAPI document,
each answer checked: never a server error, and the status, content type and body the document
promises. Used by tests/core/test_api_fuzz.py (a few examples each, in `make test`) and by
bench/schemathesis_run.py (many more, against a `frontdesk serve` process).

Schemathesis generates the cases (valid ones and deliberately invalid ones, from the schema) and
checks the answers; we send them ourselves with httpx, so the same cases run in-process and over
the network. Each case is sent with credentials that get it past authentication (a secret key, the
admin secret, a widget key and its origin), so it reaches the validation and the handler behind it.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import hypothesis
import hypothesis.errors
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
# Long polls answer at once instead of after up to 30 s: the cases are about input, not waiting.
CAPPED_PARAMETERS = {"wait": 0}


@dataclass(frozen=True)
class Credentials:
    api_key: str
    admin_secret: str
    widget_key: str
    widget_origin: str
    conversation_token: str

    def for_path(self, path: str) -> dict[str, str]:
        if path.startswith("/api/v1/tenants"):
            return {"X-Admin-Secret": self.admin_secret}
        if path.startswith("/api/v1/chat/"):
            return {
                "X-Widget-Key": self.widget_key,
                "Origin": self.widget_origin,
                "X-Conversation-Token": self.conversation_token,
            }
        return {"Authorization": f"Bearer {self.api_key}"}


@dataclass
class Tally:
    requests: int = 0
    operations: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    covered: set[str] = field(default_factory=set)
    seconds: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    schema_mismatches: list[str] = field(default_factory=list)

    def summary(self) -> str:
        classes = Counter(f"{status // 100}xx" for status in self.statuses.elements())
        return (
            f"{self.operations} operations, {self.requests} requests "
            f"({', '.join(f'{k}: {v}' for k, v in sorted(classes.items()))}); "
            f"server errors: {len(self.server_errors)}, responses not matching the schema: "
            f"{len(self.schema_mismatches)}; slowest: "
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.seconds.most_common(3))
        )


def cases(schema: dict[str, Any], per_operation: int, seed: int) -> Iterator[schemathesis.Case]:
    """`per_operation` valid and as many invalid requests for every operation, the same every run."""
    for result in schemathesis.openapi.from_dict(schema).get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            yield from _draw(operation.as_strategy(generation_mode=mode), per_operation, seed)


def _draw(strategy: Any, count: int, seed: int) -> list[schemathesis.Case]:
    found: list[schemathesis.Case] = []

    @hypothesis.seed(seed)
    @hypothesis.settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(strategy)
    def draw(case: schemathesis.Case) -> None:
        found.append(case)

    # Unsatisfiable: nothing to make invalid (an operation without parameters or body).
    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        draw()
    return found


def request_of(case: schemathesis.Case, credentials: Credentials) -> dict[str, Any]:
    """The case as httpx.request arguments, with credentials that pass authentication."""
    sent = case.as_transport_kwargs(base_url="")
    headers = {
        name: value
        for name, value in sent.get("headers", {}).items()
        if name.lower() not in {"authorization", "x-admin-secret", "x-widget-key", "origin", "cookie"}
    }
    params = dict(sent.get("params", {}))
    params.update({name: value for name, value in CAPPED_PARAMETERS.items() if name in params})
    request: dict[str, Any] = {
        "method": sent["method"],
        "url": sent["url"],
        "headers": headers | credentials.for_path(case.operation.path),
        "params": params,
    }
    if "json" in sent:
        request["content"] = json.dumps(sent["json"]).encode()
    elif "data" in sent:
        data = sent["data"]
        request["content" if isinstance(data, bytes | str) else "data"] = data
    return request


async def run(
    send: Callable[..., Awaitable[httpx.Response]],
    schema: dict[str, Any],
    credentials: Credentials,
    *,
    per_operation: int,
    seed: int,
) -> Tally:
    tally = Tally(operations=len(schema_operations(schema)))
    for case in cases(schema, per_operation, seed):
        began = time.perf_counter()
        response = await send(**request_of(case, credentials))
        operation = f"{case.operation.method.upper()} {case.operation.path}"
        tally.seconds[operation] += time.perf_counter() - began
        tally.requests += 1
        tally.covered.add(operation)
        tally.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as failures:
            found = tally.server_errors if response.status_code >= 500 else tally.schema_mismatches
            found += [
                f"{operation} -> {response.status_code}: {failure.title}: {response.text[:300]}"
                for failure in failures.exceptions
            ]
    return tally


def schema_operations(schema: dict[str, Any]) -> list[tuple[str, str]]:
    methods = {"get", "put", "post", "delete", "patch"}
    return [(method, path) for path, item in schema["paths"].items() for method in item if method in methods]
