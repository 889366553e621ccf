"""Telephony: tenants' Twilio numbers, inbound texts (keywords, reminder replies, the worker's inbox),
voice calls and their turns, and the signed Twilio webhook routes. Owns `tenant_phone_numbers`,
`inbound_sms`, `voice_calls` and `voice_turns`."""
