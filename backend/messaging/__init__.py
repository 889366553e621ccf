"""Messaging: the durable outbox and its dispatcher, the senders (Twilio, SMTP, log), message templates,
opt-outs, quiet hours, provider circuits, and the appointment lifecycle's scheduled actions
(confirmations, reminders, follow-ups, waitlist offers, reviews, no-shows). Owns `notification_outbox`,
`scheduled_actions`, `sms_opt_outs`, `provider_circuits` and `message_templates`."""
