"""`frontdesk converse FILE…`: scripted conversations against a clinic, over its real chat API.

Which clinic: `--key` (its secret key; or a publishable key, which checks replies only), else a
fresh clinic per script made from the script's `clinic` with `--fresh-clinics` and the admin secret,
else `--tenant SLUG` on this machine's own server (a secret key is made for the run and revoked
after it). Exit status: 0 when every script passed, 1 when any failed, 2 when the run could not
start (a file that is not a script file, a wrong key).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from backend.converse import report
from backend.converse.clinic import Clinic, ClinicProblem, new_clinic, open_clinic, origin_of
from backend.converse.runner import Case, SmsLine, read_cases, run_all

# For a run without --key, a secret key of the clinic with this slug: the key and its id (revoked
# when the run ends).
TemporaryKey = Callable[[str], Awaitable[tuple[str, str]]]


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "converse",
        help="run scripted conversations against a clinic over its chat API",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="script files or directories")
    parser.add_argument(
        "--tenant", help="the clinic's slug (checked against --key; without one, on this machine)"
    )
    parser.add_argument("--base-url", help="the server (default: PUBLIC_BASE_URL)")
    parser.add_argument("--key", help="the clinic's secret key (sk_live_…) or a publishable key (pk_live_…)")
    parser.add_argument("--origin", help="the page origin a publishable key allows (default: the server's)")
    parser.add_argument("--timezone", default="UTC", help="the clinic's timezone, with a publishable key")
    parser.add_argument(
        "--fresh-clinics", action="store_true", help="a new clinic for each script, from its `clinic`"
    )
    parser.add_argument("--admin-secret", help="for --fresh-clinics (default: ADMIN_SECRET)")
    parser.add_argument("--twilio-auth-token", help="for SMS scripts (default: TWILIO_AUTH_TOKEN)")
    parser.add_argument("--only", action="append", default=[], help="scripts whose name contains this")
    parser.add_argument("--class", dest="classes", action="append", default=[], help="scripts of this class")
    parser.add_argument("--parallel", type=int, default=1, help="scripts at a time, on fresh clinics")
    parser.add_argument("--keep-bookings", action="store_true", help="leave what the scripts booked")
    parser.add_argument("--json", type=Path, help="also write the results to this file as JSON")
    return parser


def selected(cases: list[Case], only: list[str], classes: list[str]) -> list[Case]:
    return [
        c
        for c in cases
        if (not only or any(o.lower() in c.script.name.lower() for o in only))
        and (not classes or c.script.kind in classes)
    ]


async def converse(
    args: argparse.Namespace,
    *,
    base_url: str,
    admin_secret: str | None,
    sms_token: str | None,
    temporary_key: TemporaryKey,
) -> int:
    try:
        cases = selected(read_cases(args.files), args.only, args.classes)
    except ValueError as problem:
        print(f"frontdesk converse: {problem}", file=sys.stderr)
        return 2
    if not cases:
        print("frontdesk converse: no scripts to run", file=sys.stderr)
        return 2
    origin = args.origin or origin_of(base_url)
    sms = SmsLine(sms_token, base_url)
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        try:
            opener, shared, target, closing = await _opener(args, http, origin, admin_secret, temporary_key)
        except (ClinicProblem, httpx.HTTPError) as problem:
            print(f"frontdesk converse: {problem}", file=sys.stderr)
            return 2
        print(f"{len(cases)} scripts against {target} at {base_url}", flush=True)
        try:
            outcomes = await run_all(
                cases,
                opener,
                shared=shared,
                parallel=args.parallel,
                sms=sms,
                keep=args.keep_bookings,
                on_outcome=lambda outcome: report.print_outcome(outcome, sys.stdout),
            )
        finally:
            await closing()
    report.print_summary(outcomes, sys.stdout)
    if args.json:
        report.write_json(args.json, outcomes, {"base_url": base_url, "clinic": target})
    return 0 if all(o.passed for o in outcomes) else 1


Opener = Callable[[Case], Awaitable[Clinic]]


async def _opener(
    args: argparse.Namespace,
    http: httpx.AsyncClient,
    origin: str,
    admin_secret: str | None,
    temporary_key: TemporaryKey,
) -> tuple[Opener, bool, str, Callable[[], Awaitable[None]]]:
    """How each script gets its clinic, whether that clinic is shared, what to call it, and what to
    do when the run ends."""
    if args.fresh_clinics:
        if not admin_secret:
            raise ClinicProblem("--fresh-clinics needs the admin secret (--admin-secret or ADMIN_SECRET)")

        async def fresh(case: Case) -> Clinic:
            if case.clinic is None:
                raise ClinicProblem(f"{case.file}: the script names no clinic to make")
            return await new_clinic(http, admin_secret, case.clinic, origin=origin)

        async def nothing() -> None:
            return None

        return fresh, False, "a fresh clinic for each script", nothing
    revoke: str | None = None
    key = args.key
    if key is None:
        key, revoke = await temporary_key(args.tenant or "demo-dental")
    try:
        clinic = await open_clinic(http, key, origin=origin, slug=args.tenant, timezone=args.timezone)
    except (ClinicProblem, httpx.HTTPError):
        if revoke is not None:
            await _revoke(http, key, revoke)
        raise

    async def same(case: Case) -> Clinic:
        return clinic

    async def close() -> None:
        await clinic.close()
        if revoke is not None:
            await _revoke(http, key, revoke)

    return same, True, clinic.slug or "the clinic of the publishable key", close


async def _revoke(http: httpx.AsyncClient, key: str, key_id: str) -> None:
    """Revoke the run's own key with itself; a server that cannot be reached keeps it (it is named
    "frontdesk converse", to be revoked in the workspace)."""
    try:
        await http.delete(f"/api/v1/api-keys/{key_id}", headers={"Authorization": f"Bearer {key}"})
    except httpx.HTTPError:
        print(
            "frontdesk converse: could not revoke the run's own key; revoke it in the workspace",
            file=sys.stderr,
        )
