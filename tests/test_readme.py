"""The README's shell walk-through runs as written, on a demo server: every ```sh block except the
ones that start the project (`make …`), in a plain POSIX shell that stops at the first error, from a
directory laid out like the repository (`var/demo_api_key`), with the server's port in PORT."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)


def walk_through_blocks() -> list[str]:
    blocks = _BLOCK.findall((ROOT / "README.md").read_text())
    return [block for block in blocks if not re.search(r"^make ", block, re.MULTILINE)]


def answers(output: str) -> list:
    """The JSON documents curl printed one after another."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(output):
        if output[at].isspace():
            at += 1
            continue
        document, at = decoder.raw_decode(output, at)
        found.append(document)
    return found


def test_the_readme_walk_through_books_an_appointment_as_written(live_server, tmp_path):
    blocks = walk_through_blocks()
    assert blocks, "the README has no walk-through to run"
    (tmp_path / "var").mkdir()
    shutil.copy(live_server.output.parent / "demo_api_key", tmp_path / "var" / "demo_api_key")
    port = str(urlsplit(live_server.base_url).port)
    for block in blocks:
        run = subprocess.run(
            ["sh", "-eu", "-c", block],
            cwd=tmp_path,
            env={"PATH": "/usr/local/bin:/usr/bin:/bin", "PORT": port, "HOME": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, run.stderr
        assert run.stderr == ""
    booked = answers(run.stdout)[-1]
    assert booked["status"] == "booked" and booked["customer"]["name"] == "Jane Doe"
