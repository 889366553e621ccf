"""Understanding: a patient's message -> one structured reading (intents, service, provider, days,
time, a pointer at an offered option, contact details, reference, yes/no, a move of the search).

Pure: no I/O, no clock (the caller says what "today" is), the same on every channel.
"""

from agent.understanding.acts import Act, read_acts
from agent.understanding.catalogue import Named, Person
from agent.understanding.dates import DayAsk
from agent.understanding.offers import Offered
from agent.understanding.reading import Context, Reading, read
from agent.understanding.relative import Relative
from agent.understanding.times import PARTS_OF_DAY, TimeAsk, within

__all__ = [
    "PARTS_OF_DAY",
    "Act",
    "Context",
    "DayAsk",
    "Named",
    "Offered",
    "Person",
    "Reading",
    "Relative",
    "TimeAsk",
    "read",
    "read_acts",
    "within",
]
