"""Calendar sync: providers' Google and CalDAV calendars block time here, and our bookings appear there."""
