"""Every setting Frontdesk reads from the environment, in one typed place.

Nothing else in the code base reads environment variables: the composition root builds one
`Settings` and hands the values down.
"""

from __future__ import annotations

import re
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Literal

import limits
from pydantic import AfterValidator, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.core.crypto import KeyRing, KeyRingError
from policy.input_limits import MAX_TEXT_CHARS


def _valid_rate_limit(value: str) -> str:
    try:
        limits.parse(value)
    except ValueError as error:
        raise ValueError(f"{value!r} is not a rate limit; write e.g. '120/minute'") from error
    return value


RateLimit = Annotated[str, AfterValidator(_valid_rate_limit)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"

    # Unset means "start an embedded server under data_dir" (development and tests only).
    database_url: str | None = None
    redis_url: str | None = None
    # Every Redis call the API makes (rate limits, Socket.IO's fan-out, readiness) gives up after
    # this long, connecting or reading: a frozen Redis slows a request by this much, never stalls it.
    redis_timeout_seconds: float = Field(default=0.25, gt=0, le=10)
    data_dir: Path = Path("var")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # `serve --workers N`: a process is restarted when it does not answer its supervisor within this
    # long. It includes start-up, where a spawned process imports the whole app before it can answer
    # (tens of seconds on a busy machine), so uvicorn's 5 s default restarted them forever.
    api_process_healthcheck_seconds: int = Field(default=60, ge=5, le=600)
    public_base_url: str = "http://127.0.0.1:8000"

    # Guards tenant creation. In development an unset secret is generated once under data_dir.
    admin_secret: SecretStr | None = None
    # The key ring sealing stored secrets: "version:base64key,…", the first current (core/crypto.py).
    # In development an unset ring is generated once under data_dir.
    secrets_keys: SecretStr | None = None

    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    # Waiting longer than this for a free connection answers 503 SERVER_BUSY (retryable).
    db_pool_timeout_seconds: float = Field(default=30, gt=0, le=300)
    # Opening a connection to PostgreSQL gives up after this long (503 DATABASE_UNAVAILABLE).
    db_connect_timeout_seconds: float = Field(default=5, gt=0, le=60)
    # Any statement running longer is cancelled by PostgreSQL (a stuck query cannot hold a
    # connection and its locks for ever). 0 turns it off.
    db_statement_timeout_ms: int = Field(default=30_000, ge=0, le=3_600_000)
    # Behind PgBouncer in transaction pooling: no prepared-statement caches (a statement prepared
    # on one server connection does not exist on the next) and no per-connection settings.
    db_pgbouncer: bool = False
    # How many times a booking transaction is re-run after a serialization failure or deadlock.
    booking_max_attempts: int = Field(default=12, ge=1, le=50)

    idempotency_ttl_hours: int = Field(default=72, ge=72)

    # A language model for free conversation. Unset (the default): the deterministic engine answers.
    llm_api_key: SecretStr | None = None
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    # A whole turn, tools included: below Twilio's 15 s limit for answering a caller, with room for
    # the database and the reply. Past it the deterministic engine answers.
    llm_timeout_seconds: float = Field(default=10, gt=0, le=12)
    # A turn's requests to the model: a malformed answer is asked again with its problem, up to this.
    llm_max_attempts: int = Field(default=2, ge=1, le=5)

    # A chat turn that has not finished after this long belongs to a process that died.
    chat_turn_lease_seconds: int = Field(default=60, ge=5, le=600)
    chat_max_message_chars: int = Field(default=MAX_TEXT_CHARS, ge=100, le=MAX_TEXT_CHARS)
    chat_messages_per_minute: int = Field(default=20, ge=1, le=600)
    # Messages of one chat connection, and of one conversation, sent and not yet answered (the one
    # being answered included); one more is refused at once (RATE_LIMITED) without a query.
    chat_max_pending_messages: int = Field(default=3, ge=1, le=50)

    # ---- outbound messages ----
    # Without Twilio credentials SMS go to the `log` provider; without an SMTP host, e-mail does.
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from_number: str | None = Field(default=None, pattern=r"^\+[1-9]\d{6,14}$")
    # Another Twilio API host (a test double, a regional proxy); unset means api.twilio.com.
    twilio_api_base_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "Frontdesk <no-reply@frontdesk.localhost>"

    outbox_max_attempts: int = Field(default=5, ge=1, le=20)
    outbox_retry_base_seconds: float = Field(default=30, gt=0, le=3600)
    outbox_retry_max_seconds: float = Field(default=3600, gt=0, le=86400)
    # A row being sent is leased for this long, and the lease is extended while its send is in flight;
    # a lease that runs out means its worker died, and the provider is asked whether the message went
    # before it is sent again. Keep it above PROVIDER_TIMEOUT_SECONDS.
    outbox_lease_seconds: int = Field(default=60, ge=1, le=3600)
    # Sends in flight per worker process; a worker claims only as many rows as it has free slots, so
    # this is also the most one claim takes: at 20 a worker spent its time claiming a few rows at a
    # time (bench/faults.py: ~80 % of the batch claimer's throughput), at 50 it keeps up with it.
    # Twilio answers 429 (retried, not lost) past an account's concurrent-request limit: keep
    # workers x this under it.
    outbox_send_concurrency: int = Field(default=50, ge=1, le=200)
    # A clinic's owners are e-mailed (and an event written) when this many of its messages are due
    # and unsent, or the oldest has waited this long; once more after it has cleared.
    outbox_alert_waiting: int = Field(default=200, ge=1)
    outbox_alert_after_seconds: int = Field(default=600, ge=10)
    # The periodic sweep behind the insert nudges: how often, at most, a missed row waits.
    worker_sweep_seconds: int = Field(default=5, ge=1, le=60)
    # The worker's CPU priority below the API's (nice): on a shared machine under load, Twilio's
    # webhooks keep their answer within its timeout while the queued replies wait their turn.
    worker_niceness: int = Field(default=10, ge=0, le=19)
    # Every Redis call the worker makes (arq, live pushes to browsers) gives up after this long: a
    # frozen Redis is an error the worker rides out, not a hang.
    worker_redis_timeout_seconds: float = Field(default=2, gt=0, le=30)
    # Tenant templates render in child processes (per API and worker process): how many, the
    # wall-clock time after which a render's process is killed, its CPU-time limit (the kernel
    # ends it), and its address-space limit.
    template_processes: int = Field(default=2, ge=1, le=16)
    template_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    template_cpu_seconds: int = Field(default=1, ge=1, le=30)
    template_memory_mb: int = Field(default=256, ge=64, le=4096)
    provider_timeout_seconds: float = Field(default=15, gt=0, le=120)
    # Per recipient: at most this many SMS in the sliding window; more wait until the window allows.
    sms_rate_limit_count: int = Field(default=10, ge=1, le=1000)
    sms_rate_limit_window_minutes: int = Field(default=60, ge=1, le=24 * 60)
    # This many consecutive transient failures open a provider's circuit for a cool-down that doubles
    # on every failed probe, up to the maximum.
    circuit_failure_threshold: int = Field(default=5, ge=1, le=100)
    circuit_open_seconds: float = Field(default=30, gt=0, le=3600)
    circuit_max_open_seconds: float = Field(default=600, gt=0, le=86400)

    # ---- inbound SMS and voice (Twilio webhooks) ----
    # Off only for local experiments with unsigned requests; the server refuses to start in
    # production with it off.
    twilio_verify_signatures: bool = True
    voice_language: str = "en-US"
    # Seconds of silence before Twilio posts an empty turn.
    voice_gather_timeout_seconds: int = Field(default=5, ge=1, le=30)
    # How long the "text me a link" link to continue a call in the web chat works; a link that
    # continues a held time ends with the hold instead (backend/telephony/call_handoff.py).
    handoff_link_minutes: int = Field(default=15, ge=1, le=24 * 60)
    inbound_sms_batch_size: int = Field(default=20, ge=1, le=500)
    # A text being answered by a worker that has not finished after this long is taken up again by
    # another (its worker died); its turn then runs if it stored no reply.
    inbound_sms_lease_seconds: int = Field(default=90, ge=5, le=3600)

    # ---- the staff workspace ----
    # A session ends after this long without a request, and in any case this long after sign-in.
    staff_session_idle_minutes: int = Field(default=120, ge=5, le=24 * 60)
    staff_session_hours: int = Field(default=12, ge=1, le=24 * 30)
    # This many wrong passwords in a row lock the account for the minutes given.
    # Abuse limits (moving windows in Redis, shared by every process); "N/second|minute|hour".
    rate_limits_enabled: bool = True
    rate_limit_chat_per_ip: RateLimit = (
        "120/minute"  # chat sessions opened and messages sent, REST and Socket.IO
    )
    rate_limit_pages_per_ip: RateLimit = "60/minute"  # hand-off and waiting-list offer pages
    rate_limit_twilio_per_ip: RateLimit = "6000/minute"  # Twilio webhooks, before their signature is checked
    rate_limit_api_per_key: RateLimit = "1200/minute"  # per secret key or workspace session
    rate_limit_conversations_per_widget_key: RateLimit = "600/hour"  # new conversations per publishable key
    # The most of that ceiling one address, and one network (/24 IPv4, /48 IPv6), may use: a script
    # cannot spend a clinic's conversations and lock its real visitors out.
    widget_key_share_per_address: float = Field(default=0.02, gt=0, le=1)
    widget_key_share_per_network: float = Field(default=0.05, gt=0, le=1)
    # Wrong passwords for one account from one address (within the lockout time) before that address
    # must wait out the lockout; from all addresses together, before addresses the account has never
    # signed in from must wait (tenants/sign_in_guard.py).
    staff_lockout_failures: int = Field(default=5, ge=1, le=100)
    staff_lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    staff_account_lockout_failures: int = Field(default=50, ge=1, le=10_000)
    # Failed sign-ins per address (IP) in a 15-minute moving window before it is refused (429).
    login_failures_per_ip: int = Field(default=20, ge=1, le=10_000)

    # ---- the event stream and webhooks ----
    # Events (and the webhook delivery log) are kept this long; a cursor older than that gets 410.
    event_retention_days: int = Field(default=30, ge=1, le=400)
    # ---- retention of patient data (periods are tenant settings: `retention_*`) ----
    # The clinic's local hour from which its nightly purge runs (once a local day).
    retention_hour: int = Field(default=3, ge=0, le=23)
    # Rows per transaction: a purge never holds many locks or one long transaction.
    retention_batch_size: int = Field(default=500, ge=1, le=100_000)
    # How often the worker looks for clinics whose night has come.
    retention_check_seconds: float = Field(default=300, gt=0, le=3600)
    webhook_timeout_seconds: float = Field(default=10, gt=0, le=60)
    webhook_max_payload_bytes: int = Field(default=256 * 1024, ge=1024, le=4 * 1024 * 1024)
    # Seconds before each retry (x0.8-1.2 jitter); about three days in all, then the delivery fails.
    webhook_retry_schedule_seconds: list[Annotated[int, Field(ge=1, le=7 * 86400)]] = Field(
        default_factory=lambda: [30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 86400],
        min_length=1,
        max_length=30,
    )
    # Requests in flight per worker process, and per endpoint within it (one slow endpoint cannot
    # take every slot).
    webhook_concurrency: int = Field(default=100, ge=1, le=1000)
    webhook_endpoint_concurrency: int = Field(default=10, ge=1, le=100)
    # A failing endpoint is probed (one request) every pause, doubling up to the maximum: it resumes
    # within the maximum of its receiver recovering. This many failed rounds in a row (requests in
    # flight together count once) pause it: only the probes go, and the clinic is told. Failing
    # without a single success this long disables it and alerts the clinic.
    webhook_failure_threshold: int = Field(default=5, ge=1, le=100)
    webhook_pause_seconds: float = Field(default=10, gt=0, le=3600)
    webhook_max_pause_seconds: float = Field(default=30, gt=0, le=3600)
    webhook_disable_after_hours: float = Field(default=96, gt=0, le=30 * 24)
    # Private, loopback and link-local targets: refused in production whatever this says; allowed
    # by default elsewhere, so a developer can point a webhook at their own machine.
    webhook_allow_private_targets: bool = True

    # Calendar sync (backend/calendars/). Google needs an OAuth client of the clinic's deployment;
    # the URLs are Google's and only change to point the tests at a local fake.
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    google_auth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_token_url: str = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL, not a secret
    google_revoke_url: str = "https://oauth2.googleapis.com/revoke"
    google_calendar_api_url: str = "https://www.googleapis.com/calendar/v3/"
    # Google calls us when a watched calendar changes; unset: only where the public URL is https.
    google_push_notifications: bool | None = None
    # Connected calendars are read this often (and at once on a Google push notification).
    calendar_sync_seconds: int = Field(default=300, ge=10, le=86400)
    # How long one request to a calendar service may take (a big CalDAV calendar's first read is slow).
    calendar_timeout_seconds: int = Field(default=60, ge=5, le=600)
    # A calendar not read for this long is reported out of sync.
    calendar_stale_after_seconds: int = Field(default=1800, ge=60, le=7 * 86400)
    # Seconds before each retry of writing a booking to a calendar; after the last, staff are alerted.
    calendar_retry_schedule_seconds: list[Annotated[int, Field(ge=1, le=86400)]] = Field(
        default_factory=lambda: [30, 120, 480], min_length=1, max_length=10
    )
    # The private networks a CalDAV server may be on (a self-hosted Nextcloud on the clinic's LAN),
    # checked at every connection. Unset: all of them outside production, none in production.
    calendar_private_networks: list[IPv4Network | IPv6Network] | None = Field(default=None, max_length=50)

    # Appointments from a clinic's own system in bulk (POST /external-appointments:bulk, CSV import):
    # a bigger body is refused with 413 before it is read; rows are written this many per transaction.
    external_import_max_bytes: int = Field(default=20 * 1024 * 1024, ge=64 * 1024, le=200 * 1024 * 1024)
    external_import_chunk_rows: int = Field(default=200, ge=1, le=5000)

    log_level: str = "INFO"
    # Request-latency histograms on every HTTP request (the /metrics endpoint is there either way).
    metrics_enabled: bool = True
    # OTLP/HTTP collector, e.g. http://otel-collector:4318; unset: no tracing.
    otel_exporter_otlp_endpoint: str | None = None
    otel_service_name: str = "frontdesk"
    # Set by `frontdesk serve --demo --workers N` for its uvicorn processes (the demo page's key).
    demo_widget_key: str | None = None
    # Each worker serves its own /metrics on this port when set (the API serves /metrics itself).
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # text: one readable line per record (development); json: one JSON object per line, with the
    # correlation id and tenant id, for a log pipeline (the default in production).
    log_format: Literal["text", "json"] | None = None

    @field_validator(
        "llm_api_key",
        "llm_base_url",
        "twilio_account_sid",
        "twilio_auth_token",
        "twilio_from_number",
        "twilio_api_base_url",
        "smtp_host",
        "smtp_username",
        "smtp_password",
        "secrets_keys",
        "google_client_id",
        "google_client_secret",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `LLM_API_KEY=` in an env file means "not configured", not a configured empty value.
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _production_needs_real_services(self) -> Settings:
        if self.environment == "production":
            missing = [
                name
                for name, value in (
                    ("DATABASE_URL", self.database_url),
                    ("REDIS_URL", self.redis_url),
                    ("ADMIN_SECRET", self.admin_secret),
                    ("SECRETS_KEYS", self.secrets_keys),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"production requires {', '.join(missing)} to be set")
            if not self.twilio_verify_signatures:
                raise ValueError("TWILIO_VERIFY_SIGNATURES=false is for local development, never production")
        return self

    @model_validator(mode="after")
    def _key_ring_readable(self) -> Settings:
        if self.secrets_keys is not None:
            try:
                KeyRing.parse(self.secrets_keys.get_secret_value())
            except KeyRingError as error:
                raise ValueError(f"SECRETS_KEYS: {error}") from None
        return self

    @model_validator(mode="after")
    def _twilio_complete(self) -> Settings:
        given = [self.twilio_account_sid, self.twilio_auth_token, self.twilio_from_number]
        if any(given) and not all(given):
            raise ValueError(
                "Twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER together"
            )
        return self

    @property
    def key_ring(self) -> KeyRing:
        if self.secrets_keys is None:
            raise RuntimeError("SECRETS_KEYS is not set yet; call embedded.ensure_secrets first")
        return KeyRing.parse(self.secrets_keys.get_secret_value())

    @property
    def google_enabled(self) -> bool:
        return bool(self.google_client_id and self.google_client_secret)

    @property
    def google_push_enabled(self) -> bool:
        if self.google_push_notifications is not None:
            return self.google_push_notifications
        return self.public_base_url.startswith("https://")

    @property
    def log_lines(self) -> Literal["text", "json"]:
        return self.log_format or ("json" if self.environment == "production" else "text")

    @property
    def cookies_secure(self) -> bool:
        """Workspace cookies only over HTTPS: in production, and wherever the public URL is https."""
        return self.environment == "production" or self.public_base_url.startswith("https://")

    @property
    def webhooks_reach_private_networks(self) -> bool:
        return self.webhook_allow_private_targets and self.environment != "production"

    @property
    def calendar_reachable_private_networks(self) -> list[IPv4Network | IPv6Network] | None:
        """The private networks CalDAV requests may reach; None: any address at all."""
        if self.calendar_private_networks is None:
            return [] if self.environment == "production" else None
        return self.calendar_private_networks

    @property
    def sms_provider(self) -> Literal["twilio", "log"]:
        return "twilio" if self.twilio_account_sid else "log"

    @property
    def email_provider(self) -> Literal["smtp", "log"]:
        return "smtp" if self.smtp_host else "log"

    @property
    def async_database_url(self) -> str:
        """The URL in the form SQLAlchemy's asyncpg dialect expects."""
        if self.database_url is None:
            raise RuntimeError("database_url is not resolved yet; call embedded.resolve_services first")
        return to_asyncpg_url(self.database_url)


def to_asyncpg_url(url: str) -> str:
    """The SQLAlchemy asyncpg URL for a libpq-style one. `sslmode` (disable … verify-full) becomes
    asyncpg's `ssl`, so `?sslmode=verify-full` is honoured; a private CA goes in PGSSLROOTCERT."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + re.sub(r"([?&])sslmode=", r"\1ssl=", url[len(prefix) :])
    raise ValueError(f"not a PostgreSQL URL: {url.split('://', 1)[0]}://…")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
