"""Every domain's tables in one metadata: for alembic, and so that SQLAlchemy knows every class before
it configures relationships that name another domain's (an appointment's customer)."""

from __future__ import annotations

from backend.calendars import models as calendars
from backend.conversations import models as conversations
from backend.core import models as core
from backend.customers import models as customers
from backend.events import models as events
from backend.faq import models as faq
from backend.messaging import models as messaging
from backend.retention import models as retention
from backend.scheduling import models as scheduling
from backend.telephony import models as telephony
from backend.tenants import models as tenants

DOMAINS = (
    core,
    tenants,
    customers,
    scheduling,
    conversations,
    messaging,
    telephony,
    events,
    calendars,
    faq,
    retention,
)
metadata = core.Base.metadata
