"""Pydantic models for every content file.

A content file that breaks a rule fails at load time with the file, the field and the
reason (see ``loader.py``); nothing speaks until everything validates.
"""

from __future__ import annotations

import random
import re
import string
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from voiceguide.dialogue.intents import ALWAYS_ON, Intent

Text = Annotated[str, Field(min_length=1)]
Variants = Annotated[list[Text], Field(min_length=1)]
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class PromptId(StrEnum):
    """Every prompt the dialogue can say. Each must exist in ``prompts/<lang>/prompts.toml``."""

    WELCOME = "welcome"
    SCREENING_INTRO = "screening_intro"
    SCREENING_HELP = "screening_help"
    EMERGENCY_SCRIPT = "emergency_script"
    EMERGENCY_REMINDER = "emergency_reminder"
    EMERGENCY_OPTIONS = "emergency_options"
    CLEARED = "cleared"
    SAFETY_RULE = "safety_rule"
    EXERCISE_INTRO = "exercise_intro"
    SIDE_INTRO = "side_intro"
    REST = "rest"
    PAUSED = "paused"
    RESUMED = "resumed"
    SKIPPED = "skipped"
    SLOWER = "slower"
    FASTER = "faster"
    AT_SLOWEST = "at_slowest"
    AT_FASTEST = "at_fastest"
    LOUDER = "louder"
    QUIETER = "quieter"
    AT_LOUDEST = "at_loudest"
    AT_QUIETEST = "at_quietest"
    COACHING_HELP = "coaching_help"
    PAUSED_HELP = "paused_help"
    PAIN_CHECK = "pain_check"
    PAIN_CHECK_REASK = "pain_check_reask"
    PAIN_SHARP_END = "pain_sharp_end"
    PAIN_MILD = "pain_mild"
    WORKOUT_STOPPED = "workout_stopped"
    WRAP_UP = "wrap_up"
    GOODBYE = "goodbye"
    INPUT_ENDED = "input_ended"
    MIC_LOST = "mic_lost"
    MIC_BACK = "mic_back"


#: The ``{placeholders}`` a prompt may use, and nothing else.
PLACEHOLDERS: frozenset[str] = frozenset({"number", "alternatives", "exercise", "side"})


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Locale(StrictModel):
    """``prompts/<lang>/locale.toml``: language facts that are not sentences."""

    language: Identifier
    tts_voice: Text
    default_region: Text
    emergency_numbers: dict[str, Annotated[str, Field(pattern=r"^[0-9]{2,4}$")]]
    #: Spoken after the main number: where other numbers apply.
    alternatives: Text

    @model_validator(mode="after")
    def _default_region_has_number(self) -> Locale:
        if self.default_region not in self.emergency_numbers:
            raise ValueError(
                f"default_region {self.default_region!r} has no entry in emergency_numbers"
            )
        return self


class PromptBook(StrictModel):
    """``prompts/<lang>/prompts.toml``: every fixed sentence, with optional variants."""

    prompts: dict[str, Variants]
    #: count_words[n - 1] is how the coach says the number n.
    count_words: Annotated[list[Text], Field(min_length=10)]
    side_names: dict[Identifier, Text]

    @field_validator("prompts")
    @classmethod
    def _known_and_complete(cls, prompts: dict[str, list[str]]) -> dict[str, list[str]]:
        known = {p.value for p in PromptId}
        unknown = sorted(set(prompts) - known)
        missing = sorted(known - set(prompts))
        problems = []
        if unknown:
            problems.append(f"unknown prompt id(s): {', '.join(unknown)}")
        if missing:
            problems.append(f"missing prompt id(s): {', '.join(missing)}")
        if problems:
            raise ValueError("; ".join(problems))
        for pid, variants in prompts.items():
            for text in variants:
                bad = _placeholders(text) - PLACEHOLDERS
                if bad:
                    raise ValueError(
                        f"prompt {pid!r} uses unknown placeholder(s) {sorted(bad)}; "
                        f"allowed: {sorted(PLACEHOLDERS)}"
                    )
        return prompts

    def variants(self, pid: PromptId) -> list[str]:
        return self.prompts[pid.value]

    def choose(self, pid: PromptId, rng: random.Random, **fields: str) -> str:
        variants = self.prompts[pid.value]
        text = variants[rng.randrange(len(variants))] if len(variants) > 1 else variants[0]
        return text.format(**fields) if fields or "{" in text else text

    def count_word(self, n: int) -> str:
        if 1 <= n <= len(self.count_words):
            return self.count_words[n - 1]
        return str(n)


class Question(StrictModel):
    """One red-flag question. "Yes" always means the red flag is present."""

    id: Identifier
    ask: Variants
    #: A different wording, used once when the first answer was not understood.
    rephrase: Variants


class Screening(StrictModel):
    """``prompts/<lang>/screening.toml``."""

    questions: Annotated[list[Question], Field(min_length=1)]

    @field_validator("questions")
    @classmethod
    def _unique_ids(cls, questions: list[Question]) -> list[Question]:
        seen: set[str] = set()
        for q in questions:
            if q.id in seen:
                raise ValueError(f"question id {q.id!r} is used twice")
            seen.add(q.id)
        return questions


class Phase(StrictModel):
    """One movement inside a repetition: a cue, then a counted hold."""

    cue: Text
    #: Said instead of ``cue`` from the second repetition on, once the movement is known.
    short: str = ""
    hold_seconds: Annotated[int, Field(ge=1, le=60)]


class Exercise(StrictModel):
    id: Identifier
    name: Text
    setup: Variants
    phases: Annotated[list[Phase], Field(min_length=1)]
    release: Text
    reps: Annotated[int, Field(ge=1, le=30)]
    rest_seconds: Annotated[int, Field(ge=0, le=120)]
    #: Empty for exercises done once; otherwise the order of sides, e.g. ["left", "right"].
    sides: list[Identifier] = []
    #: Spoken before switching to the next side.
    switch_side: str = ""

    @model_validator(mode="after")
    def _switch_needs_sides(self) -> Exercise:
        if len(self.sides) > 1 and not self.switch_side:
            raise ValueError("switch_side is required when an exercise has more than one side")
        return self


class Routine(StrictModel):
    """``prompts/<lang>/exercises.toml``."""

    exercises: Annotated[list[Exercise], Field(min_length=1)]

    @field_validator("exercises")
    @classmethod
    def _unique_ids(cls, exercises: list[Exercise]) -> list[Exercise]:
        ids = [e.id for e in exercises]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"exercise id(s) used twice: {', '.join(dupes)}")
        return exercises


_PHRASE = re.compile(r"^[^\s\d.,!?;:\"()\[\]{}][^\d.,!?;:\"()\[\]{}]*$")


class Grammar(StrictModel):
    description: Text
    #: Names of phrase sets in ``[phrases]``; each must exist there.
    intents: Annotated[list[str], Field(min_length=1)]
    #: Phrase sets that count even inside a longer free-text utterance ("no, help me").
    anywhere: list[str] = ["emergency"]
    #: Longest phrase (in words) a grammar-constrained speech engine listens for. Long
    #: phrases let a decoder stretch an answer over unrelated words ("marvin" heard as
    #: "no i didn't"), so safety grammars keep this at 1; typed text is not limited.
    acoustic_max_words: Annotated[int, Field(ge=1, le=6)] = 3
    #: Quiet after speech that ends an utterance. Short where answers are one word (a
    #: fast reply); longer where commands have several ("carry on", "stop now").
    end_silence_ms: Annotated[int, Field(ge=60, le=2000)] = 300
    #: The intents a speech engine listens for (default: all). Typed text keeps them all.
    acoustic_intents: list[str] | None = None
    #: Phrases a speech engine does not listen for, because other words sound like them
    #: (typed text keeps them).
    acoustic_skip: list[str] = []
    #: Add the garbage branch (``garbage.toml``) for speech engines: near misses are
    #: rejected instead of forced onto a phrase. Worth it where a wrong match is unsafe.
    use_garbage: bool = False
    #: The guide's count words may come before or after the answer (speech over a count).
    around_counts: bool = False
    #: Heard only over the guide's own voice: its words count as garbage (they are the
    #: likeliest thing the microphone hears) and acceptance needs the strictest score.
    over_speech_only: bool = False
    #: Grammar for speech heard while the guide talks during this turn (None: ignore it).
    over_speech: Identifier | None = None
    #: Grammar for speech heard while the guide counts (None: use ``over_speech``).
    over_counts: Identifier | None = None


class Understanding(StrictModel):
    """Words that shape free-text yes/no understanding (for engines that return free text)."""

    #: Dropped before matching: "um", "well", "please".
    fillers: list[Text]
    #: Make any yes/no answer unclear: "maybe", "not sure".
    hedges: list[Text]
    #: Turn a yes-word into something that is not a plain yes: "not", "don't".
    negators: list[Text]


class GrammarBook(StrictModel):
    """``grammars/<lang>/*.toml``: phrases per intent, grammars as sets of intents."""

    language: Identifier
    phrases: dict[str, Annotated[list[Text], Field(min_length=1)]]
    grammars: dict[Identifier, Grammar]
    understanding: Understanding
    #: Filler words for grammar engines: decoding onto one of them means "not an answer".
    garbage: list[Text] = []

    @field_validator("phrases")
    @classmethod
    def _known_intents_and_clean_phrases(
        cls, phrases: dict[str, list[str]]
    ) -> dict[str, list[str]]:
        known = {i.value for i in Intent}
        unknown = sorted(set(phrases) - known)
        if unknown:
            raise ValueError(
                f"unknown command name(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        owner: dict[str, str] = {}
        for intent, words in phrases.items():
            for phrase in words:
                if phrase != phrase.lower().strip() or not _PHRASE.match(phrase):
                    raise ValueError(
                        f"phrase {phrase!r} of {intent!r} must be lower case, with no digits "
                        "or punctuation other than apostrophes and hyphens"
                    )
                if phrase in owner and owner[phrase] != intent:
                    raise ValueError(
                        f"phrase {phrase!r} belongs to both {owner[phrase]!r} and {intent!r}"
                    )
                owner[phrase] = intent
        return phrases

    @model_validator(mode="after")
    def _garbage_is_not_an_answer(self) -> GrammarBook:
        whole = {p for phrases in self.phrases.values() for p in phrases}
        clash = sorted(set(self.garbage) & whole)
        if clash:
            raise ValueError(f"garbage words that are also whole phrases: {', '.join(clash)}")
        return self

    @field_validator("grammars")
    @classmethod
    def _grammars_reference_phrases(
        cls, grammars: dict[str, Grammar], info: ValidationInfo
    ) -> dict[str, Grammar]:
        # A field validator (not a model one) so errors point at grammars.toml.
        phrases = info.data.get("phrases")
        if phrases is None:
            return grammars  # phrases.toml already failed; its error is reported
        for name, grammar in grammars.items():
            missing = [i for i in [*grammar.intents, *grammar.anywhere] if i not in phrases]
            if missing:
                raise ValueError(
                    f"grammar {name!r} references phrase set(s) not defined under [phrases]: "
                    f"{', '.join(missing)}"
                )
            for field_name, listed in (
                ("anywhere", grammar.anywhere),
                ("acoustic_intents", grammar.acoustic_intents or []),
            ):
                outside = [i for i in listed if i not in grammar.intents]
                if outside:
                    raise ValueError(
                        f"grammar {name!r}: {field_name} lists {', '.join(outside)}, "
                        "which its intents do not include"
                    )
            own = {p for i in grammar.intents for p in phrases.get(i, [])}
            strays = [p for p in grammar.acoustic_skip if p not in own]
            if strays:
                raise ValueError(
                    f"grammar {name!r}: acoustic_skip lists {', '.join(strays)}, "
                    "which is not one of its phrases"
                )
            for field_name, target in (
                ("over_speech", grammar.over_speech),
                ("over_counts", grammar.over_counts),
            ):
                if target is not None and not grammars.get(target, grammar).over_speech_only:
                    raise ValueError(
                        f"grammar {name!r}: {field_name} = {target!r} must name a grammar "
                        "with over_speech_only = true"
                    )
            absent = sorted(
                i.value
                for i in ALWAYS_ON
                if i.value not in grammar.intents or i.value not in grammar.anywhere
            )
            if absent:
                raise ValueError(
                    f"grammar {name!r} must include {', '.join(absent)}: those words work "
                    "from every state"
                )
        return grammars

    def phrase_map(self, grammar: str) -> dict[str, Intent]:
        """Every phrase a grammar accepts, mapped to its intent."""
        if grammar not in self.grammars:
            raise KeyError(f"no grammar named {grammar!r}; have {sorted(self.grammars)}")
        return {
            phrase: Intent(intent)
            for intent in self.grammars[grammar].intents
            for phrase in self.phrases[intent]
        }

    def acoustic_phrase_map(self, grammar: str) -> dict[str, Intent]:
        """The phrases a speech engine should listen for in this grammar."""
        g = self.grammars[grammar]
        wanted = set(g.acoustic_intents or g.intents)
        return {
            p: i
            for p, i in self.phrase_map(grammar).items()
            if len(p.split()) <= g.acoustic_max_words
            and i.value in wanted
            and p not in g.acoustic_skip
        }

    def intent_phrases(self, intent: Intent) -> list[str]:
        return list(self.phrases.get(intent.value, []))


class Content(StrictModel):
    """Everything a session in one language needs."""

    locale: Locale
    prompts: PromptBook
    screening: Screening
    routine: Routine
    grammars: GrammarBook

    @model_validator(mode="after")
    def _sides_are_named(self) -> Content:
        for ex in self.routine.exercises:
            for side in ex.sides:
                if side not in self.prompts.side_names:
                    raise ValueError(
                        f"exercise {ex.id!r} uses side {side!r}, which prompts.toml "
                        "[side_names] does not name"
                    )
        longest = max(p.hold_seconds for e in self.routine.exercises for p in e.phases)
        if longest > len(self.prompts.count_words):
            raise ValueError(
                f"a hold of {longest} s needs {longest} count_words; prompts.toml has "
                f"{len(self.prompts.count_words)}"
            )
        return self

    def spoken_words(self) -> set[str]:
        """Every word the guide itself can say (lower case), e.g. to recognize its echo."""
        texts: list[str] = [t for variants in self.prompts.prompts.values() for t in variants]
        texts += self.prompts.count_words + list(self.prompts.side_names.values())
        for q in self.screening.questions:
            texts += q.ask + q.rephrase
        for ex in self.routine.exercises:
            texts += [ex.name, *ex.setup, ex.release, ex.switch_side]
            texts += [t for p in ex.phases for t in (p.cue, p.short or "")]
        return {w for t in texts for w in re.findall(r"[a-z']+", t.lower())}


class DemoLine(StrictModel):
    """One thing the simulated user says, and when."""

    say: Text
    #: Say it at the next listening turn (default), or after the n-th count of coaching.
    after_count: Annotated[int, Field(ge=1)] | None = None


class DemoScenario(StrictModel):
    id: Identifier
    title: Text
    lines: Annotated[list[DemoLine], Field(min_length=1)]


class DemoScript(StrictModel):
    """``prompts/<lang>/demo.toml``: what the simulated user of ``voiceguide demo`` says."""

    #: The simulated user's voices, distinct from the guide's: the lines are said by
    #: each in turn (espeak-ng voice ids, with an optional ``+variant``).
    user_voices: Annotated[list[Text], Field(min_length=1)]
    scenarios: Annotated[list[DemoScenario], Field(min_length=1)]

    @property
    def user_voice(self) -> str:
        """The first voice: the one ``check`` and ``bench latency`` answer in."""
        return self.user_voices[0]
