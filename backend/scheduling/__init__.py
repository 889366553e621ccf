"""Scheduling: the catalogue (providers, weekly hours, services, closures), availability, holds,
appointments and the waiting list, with the guarantees against double booking. Owns `providers`,
`services`, `service_providers`, `weekly_hours`, `closures`, `holds`, `appointments` and
`waitlist_entries`."""
