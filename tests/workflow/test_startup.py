"""A production process refuses the shipped webhook secret; development keeps ``make run`` simple."""

from __future__ import annotations

import pytest

from config.settings import DEFAULT_WEBHOOK_SECRET, Environment, Settings
from workflow.domain.errors import UnsafeSettings
from workflow.startup import refuse_unsafe_settings


def test_development_is_the_default_and_accepts_the_shipped_secret() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert settings.environment is Environment.DEVELOPMENT
    refuse_unsafe_settings(settings)


def test_production_refuses_the_shipped_secret_naming_webhook_secret() -> None:
    settings = Settings(environment=Environment.PRODUCTION, webhook_secret=DEFAULT_WEBHOOK_SECRET)

    with pytest.raises(UnsafeSettings, match="WEBHOOK_SECRET") as refused:
        refuse_unsafe_settings(settings)
    assert [r.field for r in refused.value.reasons] == ["webhook_secret"]


def test_production_starts_with_a_secret_of_its_own() -> None:
    refuse_unsafe_settings(
        Settings(environment=Environment.PRODUCTION, webhook_secret="a-long-private-secret")
    )


def test_the_environment_is_read_from_icpflow_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ICPFLOW_ENV", "production")

    assert Settings(_env_file=None).environment is Environment.PRODUCTION  # type: ignore[call-arg]
