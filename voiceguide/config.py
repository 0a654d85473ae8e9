"""Session settings. Each source overrides the ones after it:

1. command-line options (passed in as keyword arguments);
2. ``VOICEGUIDE_*`` environment variables;
3. the config file, ``$XDG_CONFIG_HOME/voiceguide/config.toml`` (via platformdirs);
4. the defaults here.

Every source is validated by the same model, and bounds are checked so no setting can
make counting unsafe (too fast to follow) or speech inaudible. A problem becomes one
``ConfigError`` line naming where the value came from, the key and the reason.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import BeforeValidator, Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

APP = "voiceguide"
ENV_PREFIX = "VOICEGUIDE_"

#: The same names as ``voiceguide.speech.select.ENGINES`` (a test keeps them equal; this
#: module stays free of engine imports because every command loads it first).
Engine = Literal["auto", "vosk", "pocketsphinx", "answer-model", "fused"]

#: What a person may set in the config file. The rest are tuning knobs for tests and
#: benchmarks, reachable by environment variable only, so an edited file cannot loosen
#: the recognizer's "no" threshold.
FILE_KEYS: tuple[str, ...] = (
    "language",
    "region",
    "emergency_number",
    "speech_rate",
    "volume",
    "count_period_s",
    "answer_timeout_s",
    "input_device",
    "output_device",
    "engine",
)

Seconds = Annotated[float, Field(gt=0)]

#: Settings whose range is narrowed by two others (declared before them, so the check can
#: read them): the value, then its lower and upper bound setting.
BOUNDED: dict[str, tuple[str, str | None]] = {
    "count_period_s": ("min_count_period_s", "max_count_period_s"),
    "speech_rate": ("min_speech_rate", "max_speech_rate"),
    "volume": ("min_volume", None),
}


def _device_as_text(value: object) -> object:
    # TOML lets a device index be a bare number; the device lookup takes text.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Device = Annotated[Annotated[str, Field(min_length=1)] | None, BeforeValidator(_device_as_text)]


def config_path() -> Path:
    """Where the config file is looked for (it need not exist)."""
    return platformdirs.user_config_path(APP, appauthor=False) / "config.toml"


class ConfigError(Exception):
    """A setting is invalid. ``str()`` is one line naming the source, the key and why.
    ``from_options`` is true when only command-line options were at fault."""

    def __init__(self, message: str, from_options: bool = False) -> None:
        super().__init__(message)
        self.from_options = from_options


def read_config_file(path: Path | None = None) -> dict[str, Any]:
    """The config file's keys and raw values ({} when there is no file), or ConfigError."""
    path = path or config_path()
    try:
        data = TomlConfigSettingsSource(Settings, toml_file=path).toml_data
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from None
    for key in data:
        if key not in FILE_KEYS:
            near = difflib.get_close_matches(key, FILE_KEYS, n=1)
            hint = f"did you mean {near[0]}?" if near else f"known: {', '.join(FILE_KEYS)}"
            raise ConfigError(f"{path}: {key}: not a setting the config file can hold; {hint}")
    return data


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    language: str = "en"
    #: Region whose emergency number is spoken (keys of locale.toml [emergency_numbers]).
    region: str | None = None
    #: Overrides the region's number, e.g. for a care home's own line: what a phone can
    #: dial (digits, an optional leading "+", at most 15 digits), spoken digit by digit.
    emergency_number: Annotated[str | None, Field(pattern=r"^\+?[0-9]{2,15}$")] = None
    seed: int | None = None

    # A bound comes before the value it bounds (BOUNDED): the value's check reads it.
    min_count_period_s: Annotated[float, Field(ge=0.6, le=2.0)] = 0.7
    max_count_period_s: Annotated[float, Field(ge=0.6, le=2.0)] = 1.8
    count_period_s: Annotated[float, Field(ge=0.6, le=2.0)] = 1.0
    count_period_step_s: Annotated[float, Field(gt=0, le=0.5)] = 0.2

    #: Without an answer for this long after a question ends, it counts as silence.
    answer_timeout_s: Annotated[float, Field(ge=2, le=600)] = 10.0
    #: How often the emergency reminder repeats while nobody speaks.
    emergency_reminder_s: Annotated[float, Field(ge=5, le=600)] = 45.0
    #: A "no" below this recognizer confidence is treated as unclear.
    no_min_confidence: Annotated[float, Field(ge=0, le=1)] = 0.5
    #: Used to estimate how long a sentence takes to say, for scheduling around it.
    words_per_second: Seconds = 2.6

    min_speech_rate: Annotated[float, Field(ge=0.5, le=1.6)] = 0.7
    max_speech_rate: Annotated[float, Field(ge=0.5, le=1.6)] = 1.3
    speech_rate: Annotated[float, Field(ge=0.5, le=1.6)] = 1.0
    speech_rate_step: Annotated[float, Field(gt=0, le=0.5)] = 0.15
    min_volume: Annotated[float, Field(ge=0.1, le=1.0)] = 0.3
    volume: Annotated[float, Field(ge=0.1, le=1.0)] = 0.8
    volume_step: Annotated[float, Field(gt=0, le=0.5)] = 0.15

    #: Microphone and speaker, by name or index (`voiceguide devices`); None: the default.
    input_device: Device = None
    output_device: Device = None
    engine: Engine = "auto"

    #: The Vosk model catalog ``voiceguide models`` installs from (a JSON list).
    model_list_url: str = "https://alphacephei.com/vosk/models/model-list.json"

    @field_validator("region")
    @classmethod
    def _region_upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value

    @field_validator(*BOUNDED)
    @classmethod
    def _within_bounds(cls, value: float, info: ValidationInfo) -> float:
        low, high = BOUNDED[str(info.field_name)]
        lo = info.data.get(low)
        hi = info.data.get(high) if high else None
        if lo is not None and value < lo:
            raise ValueError(f"must be at least {low} ({lo})")
        if hi is not None and value > hi:
            raise ValueError(f"must be at most {high} ({hi})")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # First wins: options, then environment, then the file (read afresh each time,
        # so $XDG_CONFIG_HOME is honoured as it is now), then the defaults above.
        read_config_file()  # one clear line for a broken file, before pydantic reads it
        file = TomlConfigSettingsSource(settings_cls, toml_file=config_path())
        return init_settings, env_settings, file


def origins(options: Mapping[str, object] | None = None) -> dict[str, str]:
    """Where each setting's value comes from: "option", "environment VOICEGUIDE_X",
    "file" or "default"."""
    options = options or {}
    env = EnvSettingsSource(Settings)()
    file = read_config_file()
    out = {}
    for name in Settings.model_fields:
        if name in options:
            out[name] = "option"
        elif name in env:
            out[name] = f"environment {ENV_PREFIX}{name.upper()}"
        elif name in file:
            out[name] = "file"
        else:
            out[name] = "default"
    return out


def load_settings(options: Mapping[str, object] | None = None) -> Settings:
    """The effective settings, with ``options`` (from the command line) on top."""
    options = dict(options or {})
    try:
        return Settings(**options)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise _explain(exc, origins(options)) from None


def _explain(exc: ValidationError, where: Mapping[str, str]) -> ConfigError:
    by_source: dict[str, list[str]] = {}
    for err in exc.errors():
        key = str(err["loc"][0]) if err["loc"] else ""
        reason = err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        shown = f" (got {got!r})" if isinstance(got, str | int | float) else ""
        source = where.get(key, "default")
        if source.startswith("environment"):
            key = f"{source.removeprefix('environment ')} ({key})"
        by_source.setdefault(source, []).append(f"{key}: {reason}{shown}")
    parts = []
    for source, problems in by_source.items():
        head = f"{config_path()}: " if source == "file" else ""
        if source.startswith("environment"):
            head = "environment variable "
        parts.append(head + "; ".join(problems))
    return ConfigError("; ".join(parts), from_options=set(by_source) == {"option"})
