"""Session settings: defaults here, overridable by VOICEGUIDE_* environment variables
and command-line options. Bounds are validated so no setting can make counting unsafe
(too fast to follow) or speech inaudible."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Seconds = Annotated[float, Field(gt=0)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VOICEGUIDE_", frozen=True, extra="ignore")

    language: str = "en"
    #: Region whose emergency number is spoken (keys of locale.toml [emergency_numbers]).
    region: str | None = None
    #: Overrides the region's number, e.g. for a care home's own line: what a phone can
    #: dial (digits, an optional leading "+", at most 15 digits), spoken digit by digit.
    emergency_number: Annotated[str | None, Field(pattern=r"^\+?[0-9]{2,15}$")] = None
    seed: int | None = None

    count_period_s: Annotated[float, Field(ge=0.6, le=2.0)] = 1.0
    min_count_period_s: Annotated[float, Field(ge=0.6, le=2.0)] = 0.7
    max_count_period_s: Annotated[float, Field(ge=0.6, le=2.0)] = 1.8
    count_period_step_s: Annotated[float, Field(gt=0, le=0.5)] = 0.2

    #: Without an answer for this long after a question ends, it counts as silence.
    answer_timeout_s: Annotated[float, Field(ge=2, le=600)] = 10.0
    #: How often the emergency reminder repeats while nobody speaks.
    emergency_reminder_s: Annotated[float, Field(ge=5, le=600)] = 45.0
    #: A "no" below this recognizer confidence is treated as unclear.
    no_min_confidence: Annotated[float, Field(ge=0, le=1)] = 0.5
    #: Used to estimate how long a sentence takes to say, for scheduling around it.
    words_per_second: Seconds = 2.6

    speech_rate: Annotated[float, Field(ge=0.5, le=1.6)] = 1.0
    speech_rate_step: Annotated[float, Field(gt=0, le=0.5)] = 0.15
    min_speech_rate: Annotated[float, Field(ge=0.5, le=1.6)] = 0.7
    max_speech_rate: Annotated[float, Field(ge=0.5, le=1.6)] = 1.3
    volume: Annotated[float, Field(ge=0.1, le=1.0)] = 0.8
    volume_step: Annotated[float, Field(gt=0, le=0.5)] = 0.15
    min_volume: Annotated[float, Field(ge=0.1, le=1.0)] = 0.3

    #: The Vosk model catalog ``voiceguide models`` installs from (a JSON list).
    model_list_url: str = "https://alphacephei.com/vosk/models/model-list.json"

    @model_validator(mode="after")
    def _ordered_bounds(self) -> Settings:
        if not self.min_count_period_s <= self.count_period_s <= self.max_count_period_s:
            raise ValueError("count_period_s must lie between min and max count period")
        if not self.min_speech_rate <= self.speech_rate <= self.max_speech_rate:
            raise ValueError("speech_rate must lie between min and max speech rate")
        if self.volume < self.min_volume:
            raise ValueError("volume must be at least min_volume")
        return self
