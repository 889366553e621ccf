"""What every domain uses: settings, the database (engine, transactions, retries), errors and the
error envelope, the audit log, idempotency keys, domain events, logging, the embedded PostgreSQL and
Redis, the tenant context and the declarative base. Imports no domain."""
