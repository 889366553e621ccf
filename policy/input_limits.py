"""How much of a patient's message anything reads: one limit for every transport and every reader.

Every pattern in `agent/understanding/` and `policy/` is linear in its input; this bound makes the
worst case of each a fixed, small cost (bench/hostile_input.py prints it).
"""

MAX_TEXT_CHARS = 2000
MAX_CHOICE_CHARS = 200
MAX_CLIENT_MESSAGE_ID_CHARS = 100
# A widget key, a conversation token or a hand-off link (ours are under 300 characters).
MAX_CREDENTIAL_CHARS = 500
# A message's sequence number in its conversation is a 32-bit integer; a cursor beyond it is refused.
MAX_SEQUENCE = 2**31 - 1
