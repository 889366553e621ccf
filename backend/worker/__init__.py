"""`frontdesk worker`: answers inbound texts, runs scheduled actions, sends the outbox, writes
bookings to providers' calendars, runs the webhook pump, and reads connected calendars' busy time.

PostgreSQL holds all the work, and every loop that does it needs nothing else (`process.py`): a
trigger NOTIFYs `frontdesk_work` with the table's name when inbound texts, outbox rows, actions or
calendar pushes are committed, the worker LISTENs and wakes that queue's loop, and a sweep every
few seconds wakes them all, so a lost nudge delays work by one sweep at most and loses nothing.
Redis carries only arq's part (`queue.py`): calendar syncs, one at a time across workers. A Redis
outage stops that part alone, which reconnects with back-off inside the process.
"""

from backend.worker.process import build_senders, run

__all__ = ["build_senders", "run"]
