"""Events and webhooks: the cursor-based event stream (`GET /api/v1/events`), webhook endpoints with
their signing secrets, the durable delivery queue with retries, circuits and replay, and the worker
pump that fans events out and delivers them. Owns `webhook_endpoints` and `webhook_deliveries`
(the events themselves are core's: every domain writes them)."""
