"""Shared fixtures. Hypothesis profiles: "default" for every run, "full" for the large
property run (``make test-full``: at least 100 000 generated sessions)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "full", max_examples=100_000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("VOICEGUIDE_HYPOTHESIS_PROFILE", "default"))
