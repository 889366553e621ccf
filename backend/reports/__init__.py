"""The clinic's figures: bookings, confirmations, attendance, recovered slots, messages, speed."""
