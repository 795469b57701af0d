"""Figures set per state or per order kind: a default declared with each, and a setting
holding only what ops change.

``STUCK_WORKING_DAYS`` and ``HOST_REVIEW_WORKING_DAYS`` name the states or the kinds they
change, and every other keeps its default. A mapping that replaced the defaults whole left
each state it did not name with no stuck deadline at all, silently. Every process reads these
figures here, the defaults merged with the setting and its keys checked, so a name that is not
a state or kind (or a state nothing is stuck in) is refused the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from config.settings import Settings
from workflow.domain.definition import DEADLINES_BY_KIND, STATES, DeadlineSpec
from workflow.domain.errors import Reason, UnsafeSettings, summarise
from workflow.domain.orders import KINDS


@dataclass(frozen=True)
class PerKey:
    """A deadline whose figure is set per state or per kind: each one's default, and what a
    key must be (``keys_are``), for the refusal of one that is not."""

    deadline: DeadlineSpec
    keys_are: str
    defaults: Mapping[str, int]

    def refused(self, settings: Settings) -> list[Reason]:
        """A reason for each key of the setting that names nothing it has a default for."""
        return self._refused(self._overrides(settings))

    def figures(self, settings: Settings) -> dict[str, float]:
        """Every state's or kind's figure: the setting's where it names one, else the default.
        Raises ``UnsafeSettings`` for a key ``refused`` (the processes refuse to start first).
        Read as each deadline is armed, so the reasons are only built for a key refused."""
        overrides = self._overrides(settings)
        if not overrides.keys() <= self.defaults.keys():
            reasons = self._refused(overrides)
            raise UnsafeSettings(summarise("unusable settings", reasons), reasons)
        return {**self.defaults, **overrides}

    def _refused(self, overrides: Mapping[str, float]) -> list[Reason]:
        variable = self.deadline.setting.upper()
        allowed = ", ".join(self.defaults)
        return [
            Reason(
                "unknown_key",
                f"{variable} names {key!r}, not {self.keys_are} (one of {allowed})",
                field=f"{self.deadline.setting}.{key}",
            )
            for key in overrides
            if key not in self.defaults
        ]

    def _overrides(self, settings: Settings) -> Mapping[str, float]:
        """The setting as a mapping: one number is every key's."""
        value = self.deadline.figure(settings)
        if isinstance(value, int | float):
            return dict.fromkeys(self.defaults, value)
        if not isinstance(value, Mapping):
            raise TypeError(f"{self.deadline.setting} holds neither a number nor a mapping")
        return value


PER_KEY: dict[str, PerKey] = {
    per_key.deadline.kind: per_key
    for per_key in (
        PerKey(
            DEADLINES_BY_KIND["stuck"],
            "a state an order can be stuck in",
            {
                s.name.value: s.stuck_working_days
                for s in STATES
                if s.stuck_working_days is not None
            },
        ),
        PerKey(
            DEADLINES_BY_KIND["host_review_overdue"],
            "an order kind",
            {spec.kind.value: spec.host_review_working_days for spec in KINDS},
        ),
    )
}
