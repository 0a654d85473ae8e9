"""Shared fixtures. Hypothesis profiles: "default" for every run, "full" for the large
property run (``make test-full``: at least 100 000 generated sessions)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "full", max_examples=100_000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("VOICEGUIDE_HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True, scope="session")
def _no_personal_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A developer's own ~/.config/voiceguide/config.toml must not change what the tests
    see, in this process or in the commands they start."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI (``.ci/run`` sets CI=true) nothing may skip: espeak-ng, PulseAudio, the
    Korean model and ../shared are all there, so a skip means an install step failed
    quietly. Expected failures (xfail) are not skips."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, where every install step must have worked: {reason}"
