"""How many SMS segments a text costs: GSM-7 when every character is in the GSM 03.38 alphabet,
UCS-2 (UTF-16) as soon as one is not — a single emoji or curly quote halves what fits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Each of these takes two septets (an escape, then the character).
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")

GSM_SINGLE, GSM_PART = 160, 153  # a multi-part message loses 7 septets to its header
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class SegmentCount:
    encoding: Literal["GSM-7", "UCS-2"]
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def count_segments(text: str) -> SegmentCount:
    if all(char in _GSM_BASIC or char in _GSM_EXTENDED for char in text):
        units = sum(2 if char in _GSM_EXTENDED else 1 for char in text)
        return SegmentCount("GSM-7", units, _parts(units, GSM_SINGLE, GSM_PART))
    units = len(text.encode("utf-16-le")) // 2
    return SegmentCount("UCS-2", units, _parts(units, UCS2_SINGLE, UCS2_PART))


def _parts(units: int, single: int, part: int) -> int:
    if units <= single:
        return 1
    return math.ceil(units / part)
