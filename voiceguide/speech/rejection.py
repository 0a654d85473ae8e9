"""How recognizers decide to reject: the thresholds, in one place.

Tuned on synthetic speech (many espeak-ng voices) and checked on real clips with
``voiceguide bench asr``. Asymmetric on purpose: a wrong "yes" only sends someone to the
safe route, a wrong "no" can send an injured person into exercises.
"""

from __future__ import annotations

from collections.abc import Container

from pydantic import BaseModel, ConfigDict, Field

from voiceguide.audio.vad import voiced_frames
from voiceguide.dialogue.intents import Intent
from voiceguide.speech.recognizer import Decoding, Recognition, Samples


class RejectionSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    #: Fewer voiced 30 ms frames than this is silence or a click, not an answer.
    min_voiced_frames: int = Field(4, ge=1)
    #: Voiced frames above this share of the clip, with a flat spectrum, is noise.
    #: "no" must be the clear winner: none of the top N decodes may be something else.
    no_nbest: int = Field(4, ge=1)
    #: Vosk: minimum word confidence to accept, per intent; "no" needs the most.
    min_word_conf: float = Field(0.6, ge=0, le=1)
    min_word_conf_no: float = Field(0.85, ge=0, le=1)
    #: Barge-in over the guide's own voice needs a strong result.
    min_word_conf_barge_in: float = Field(0.9, ge=0, le=1)

    def begin(
        self, engine: str, samples: Samples, grammar: str, known: Container[str]
    ) -> tuple[Decoding, Recognition | None]:
        """Every decode's first steps: an unknown grammar is a bug, and silence is
        rejected before any decoding (the second item is then the result)."""
        if grammar not in known:
            raise KeyError(f"no grammar named {grammar!r}")
        decoding = Decoding(engine, len(samples))
        if self.is_silence(samples):
            return decoding, decoding.result("", None, 0.0, "silence")
        return decoding, None

    def is_silence(self, samples: Samples) -> bool:
        """Too little voiced audio to be an answer: reject before decoding."""
        return sum(voiced_frames(samples)) < self.min_voiced_frames

    def word_conf_needed(self, intent: Intent | None, over_speech: bool) -> float:
        if over_speech:
            return self.min_word_conf_barge_in
        if intent is Intent.NO:
            return self.min_word_conf_no
        return self.min_word_conf
