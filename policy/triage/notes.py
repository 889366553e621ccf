"""What the detectors noticed while reading one message: signs set aside and why, and where."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from policy.triage.context import clause, discounted


@dataclass
class Notes:
    message: str
    dismissed: list[tuple[str, str]] = field(default_factory=list)
    # Clauses whose sign was set aside: the classifier does not read them.
    set_aside: list[tuple[int, int]] = field(default_factory=list)

    def current(self, pattern: re.Pattern[str], category: str, *, note: bool = True) -> re.Match[str] | None:
        """The first match of the pattern that is meant literally and now; set-aside ones are noted."""
        for match in pattern.finditer(self.message):
            reason = discounted(self.message, match.start(), match.end())
            if reason is None:
                return match
            if note:
                if (category, reason) not in self.dismissed:
                    self.dismissed.append((category, reason))
                before, after = clause(self.message, match.start(), match.end())
                self.set_aside.append((match.start() - len(before), match.end() + len(after)))
        return None

    def holds(self, pattern: re.Pattern[str]) -> bool:
        """A companion word: it counts when meant now, and its being set aside is not worth noting."""
        return self.current(pattern, "", note=False) is not None

    def unread(self) -> str:
        """The message without its set-aside clauses."""
        kept, position = [], 0
        for start, end in sorted(self.set_aside):
            if start > position:
                kept.append(self.message[position:start])
            position = max(position, end)
        kept.append(self.message[position:])
        return " ".join(kept)
