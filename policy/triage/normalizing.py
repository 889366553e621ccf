"""One spelling for every reader of a message: lower case, straight apostrophes, single spaces."""

from __future__ import annotations

import re


def normalize(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\s+", " ", text).strip()
