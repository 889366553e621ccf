import pytest
from pydantic import ValidationError

from backend.core.crypto import KeyRing
from backend.core.embedded import ensure_admin_secret, ensure_secrets
from backend.core.settings import Settings, to_asyncpg_url

KEYS = KeyRing.new_key()


def test_production_refuses_to_start_without_real_services_and_its_secrets():
    with pytest.raises(ValidationError) as problem:
        Settings(
            _env_file=None, environment="production", database_url=None, redis_url=None, admin_secret=None
        )
    assert "DATABASE_URL, REDIS_URL, ADMIN_SECRET, SECRETS_KEYS" in str(problem.value)
    ready = Settings(
        _env_file=None,
        environment="production",
        database_url="postgresql://db/frontdesk",
        redis_url="redis://cache:6379/0",
        admin_secret="s3cret",
        secrets_keys=KEYS,
    )
    assert ready.async_database_url == "postgresql+asyncpg://db/frontdesk"


def test_development_generates_the_admin_secret_once(tmp_path):
    settings = Settings(_env_file=None, admin_secret=None, data_dir=tmp_path)
    first = ensure_admin_secret(settings).admin_secret.get_secret_value()
    again = ensure_admin_secret(settings).admin_secret.get_secret_value()
    assert first == again and len(first) >= 32
    assert (tmp_path / "admin_secret").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("url", ["postgres://u@h/d", "postgresql://u@h/d", "postgresql+asyncpg://u@h/d"])
def test_database_urls_are_normalised_for_asyncpg(url):
    assert to_asyncpg_url(url) == "postgresql+asyncpg://u@h/d"
    with pytest.raises(ValueError, match="not a PostgreSQL URL"):
        to_asyncpg_url("mysql://u@h/d")


def test_blank_llm_settings_mean_no_model():
    settings = Settings(_env_file=None, llm_api_key="", llm_base_url="  ")
    assert settings.llm_api_key is None and settings.llm_base_url is None


def test_production_refuses_to_start_with_twilio_signatures_unchecked():
    production = {
        "environment": "production",
        "database_url": "postgresql://db/frontdesk",
        "redis_url": "redis://cache",
        "admin_secret": "s3cret",
        "secrets_keys": KEYS,
    }
    Settings(_env_file=None, **production)  # checked: fine
    with pytest.raises(ValidationError, match="TWILIO_VERIFY_SIGNATURES"):
        Settings(_env_file=None, **production, twilio_verify_signatures=False)
    assert not Settings(_env_file=None, twilio_verify_signatures=False).twilio_verify_signatures


def test_production_never_lets_webhooks_reach_private_networks():
    production = {"environment": "production", "database_url": "postgresql://db/f", "redis_url": "redis://c"}
    settings = Settings(_env_file=None, **production, admin_secret="s", secrets_keys=KEYS)
    assert settings.webhook_allow_private_targets and not settings.webhooks_reach_private_networks
    assert Settings(_env_file=None).webhooks_reach_private_networks


def test_an_unreadable_key_ring_is_refused_at_start_with_the_reason():
    for ring, reason in (
        ("k1:not-base64!", "not base64"),
        ("k1:" + "QUJD", "32 bytes"),
        (f"{KEYS},{KEYS}", "unique"),
    ):
        with pytest.raises(ValidationError, match=reason):
            Settings(_env_file=None, secrets_keys=ring)


def test_development_generates_the_key_ring_once(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path)
    first = ensure_secrets(settings).key_ring
    assert ensure_secrets(settings).key_ring == first
    assert (tmp_path / "secrets_keys").stat().st_mode & 0o077 == 0
