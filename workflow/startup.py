"""What every long-running process checks before it starts serving."""

from __future__ import annotations

from config.settings import DEFAULT_WEBHOOK_SECRET, Environment, Settings
from workflow.domain.errors import Reason, UnsafeSettings


def refuse_unsafe_settings(settings: Settings) -> None:
    """In production, refuse the shipped webhook secret: anyone could forge signed deliveries."""
    if settings.environment is not Environment.PRODUCTION:
        return
    if settings.webhook_secret == DEFAULT_WEBHOOK_SECRET:
        reason = Reason(
            "default_webhook_secret",
            f"WEBHOOK_SECRET is still the default {DEFAULT_WEBHOOK_SECRET!r}: "
            "set a secret of your own to run with ICPFLOW_ENV=production",
            field="webhook_secret",
        )
        raise UnsafeSettings(f"refusing to start: {reason.message}", [reason])
