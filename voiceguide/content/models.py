"""Pydantic models for every content file.

A content file that breaks a rule fails at load time with the file, the field and the
reason (see ``loader.py``); nothing speaks until everything validates.
"""

from __future__ import annotations

import random
import re
import string
import unicodedata
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
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


def speakable(text: str) -> str:
    """Text that can be said and printed as one line: some letters, no control characters.

    A sentence of only spaces or punctuation would be "said" as silence and printed as a
    blank line; a control character would break the one-line-per-sentence output.
    """
    if not any(ch.isalpha() for ch in text):
        raise ValueError(f"{text!r} has no letters, so there is nothing to say")
    bad = sorted({ch for ch in text if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co")})
    if bad:
        raise ValueError(f"{text!r} holds control or invisible character(s) {bad}")
    return text


#: A sentence the guide says as it is (no placeholders to fill in first).
Spoken = Annotated[str, AfterValidator(speakable)]
SpokenVariants = Annotated[list[Spoken], Field(min_length=1)]


def _optional_spoken(text: str) -> str:
    return speakable(text) if text else text


OptionalSpoken = Annotated[str, AfterValidator(_optional_spoken)]
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class PromptId(StrEnum):
    """Every prompt the dialogue can say. Each must exist in ``prompts/<lang>/prompts.toml``."""

    WELCOME = "welcome"
    SCREENING_INTRO = "screening_intro"
    SCREENING_HELP = "screening_help"
    EMERGENCY_UNCLEAR = "emergency_unclear"
    EMERGENCY_SCRIPT = "emergency_script"
    EMERGENCY_WHY = "emergency_why"
    EMERGENCY_ALTERNATIVE = "emergency_alternative"
    EMERGENCY_OPTIONS = "emergency_options"
    EMERGENCY_SHORT = "emergency_short"
    EMERGENCY_REMINDER = "emergency_reminder"
    EMERGENCY_QUIET = "emergency_quiet"
    EMERGENCY_LAST = "emergency_last"
    EMERGENCY_CANCELLED = "emergency_cancelled"
    CLEARED = "cleared"
    SAFETY_RULE = "safety_rule"
    EXERCISE_INTRO = "exercise_intro"
    SIDE_INTRO = "side_intro"
    SIDE_NEXT = "side_next"
    READY_WAIT = "ready_wait"
    READY_REMINDER = "ready_reminder"
    READY_TIMEOUT = "ready_timeout"
    PROGRESS = "progress"
    PROGRESS_LAST = "progress_last"
    REST = "rest"
    PAUSED = "paused"
    STOPPED = "stopped"
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


#: Prompts the coach says (with only the fields listed here); every other prompt is said by
#: the dialogue, which gives each one the emergency number as ``{number}``.
_COACH_FIELDS: dict[PromptId, frozenset[str]] = {
    PromptId.CLEARED: frozenset(),
    PromptId.SAFETY_RULE: frozenset(),
    PromptId.EXERCISE_INTRO: frozenset({"exercise", "n", "total"}),
    PromptId.SIDE_INTRO: frozenset({"side"}),
    PromptId.SIDE_NEXT: frozenset({"side"}),
    PromptId.READY_WAIT: frozenset(),
    PromptId.REST: frozenset(),
    PromptId.PROGRESS: frozenset({"n", "total"}),
    PromptId.PROGRESS_LAST: frozenset(),
    PromptId.WRAP_UP: frozenset(),
    # Also said by the coach as its last line, without a number.
    PromptId.GOODBYE: frozenset(),
    # Said by the hands-free runtime itself, with no fields.
    PromptId.MIC_LOST: frozenset(),
    PromptId.MIC_BACK: frozenset(),
}
#: The one place that says which ``{placeholders}`` each prompt is given when it is said
#: (the dialogue and the coach fill in exactly these; tests/test_content.py checks that
#: they do). A template may use a subset; anything else is refused at start-up.
PROMPT_FIELDS: dict[PromptId, frozenset[str]] = (
    {pid: frozenset({"number"}) for pid in PromptId}
    | _COACH_FIELDS
    | {PromptId.EMERGENCY_ALTERNATIVE: frozenset({"number", "other"})}
)
#: Placeholders a prompt must use: emergency advice without the number to call is no advice.
PROMPT_REQUIRED_FIELDS: dict[PromptId, frozenset[str]] = {
    PromptId.EMERGENCY_SCRIPT: frozenset({"number"}),
    PromptId.EMERGENCY_SHORT: frozenset({"number"}),
    PromptId.EMERGENCY_ALTERNATIVE: frozenset({"other"}),
}
#: Every placeholder any prompt may use. ``number`` and ``other`` are phone numbers,
#: already spelled out digit by digit (``Locale.say_number``).
PLACEHOLDERS: frozenset[str] = frozenset().union(*PROMPT_FIELDS.values())
#: The placeholders an exercise's sentences may use (exercises done on each side only).
EXERCISE_PLACEHOLDERS: frozenset[str] = frozenset({"side", "other"})
#: What a phone can dial: digits, optionally after one leading "+", at most 15 of them.
DIALABLE = r"^\+?[0-9]{2,15}$"
#: Typical values, to check that every template renders to something sayable even before
#: the real values (locale, exercises) are known; ``Content`` renders the real ones too.
SAMPLE_FIELDS: dict[str, str] = {
    "number": "one one two",
    "other": "nine nine nine",
    "exercise": "stretch",
    "side": "left",
    "n": "three",
    "total": "eight",
}

#: The grammars the dialogue listens with, and the intents each must hold.
REQUIRED_GRAMMARS: dict[str, frozenset[str]] = {
    "yes_no": frozenset({"yes", "no", "emergency"}),
    "emergency": frozenset({"emergency"}),
    "coaching": frozenset({"emergency", "pain", "stop"}),
}
#: The red flags the source article names; a screening without any of them is refused.
#: High-impact trauma, cannot bear weight or move the leg, visible deformity, a locked
#: joint, severe pain.
REQUIRED_RED_FLAGS: tuple[str, ...] = (
    "high_impact",
    "cannot_bear_weight",
    "deformity",
    "locked_joint",
    "severe_pain",
)


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def check_template(pid: PromptId, text: str, values: dict[str, str]) -> str:
    """Render one prompt template with ``values``; raise ValueError saying what is wrong."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:  # a single "{" or "}"
        raise ValueError(f"{exc} (write {{{{ or }}}} for a literal brace)") from None
    allowed = PROMPT_FIELDS[pid]
    used: set[str] = set()
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if spec or conversion:
            raise ValueError(
                f"placeholder {{{name}}} has a format or conversion ({spec or conversion!r}); "
                "use plain {name}"
            )
        if name not in allowed:
            hint = f"allowed here: {sorted(allowed)}" if allowed else "this prompt gets none"
            raise ValueError(f"unknown placeholder {{{name}}}; {hint}")
        used.add(name)
    missing = PROMPT_REQUIRED_FIELDS.get(pid, frozenset()) - used
    if missing:
        raise ValueError(f"must say the {', '.join(sorted(missing))} (as {{number}})")
    rendered = text.format(**{k: values[k] for k in used})
    return speakable(rendered)


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Locale(StrictModel):
    """``prompts/<lang>/locale.toml``: language facts that are not sentences."""

    language: Identifier
    tts_voice: Text
    default_region: Text
    emergency_numbers: Annotated[
        dict[str, Annotated[str, Field(pattern=DIALABLE)]], Field(min_length=1)
    ]
    #: Other numbers that reach emergency services in a region, offered after the main
    #: one. Regions not listed have none: a listener hears only numbers that work there.
    alternative_numbers: dict[str, list[Annotated[str, Field(pattern=DIALABLE)]]] = {}
    #: How each digit 0-9 is said, and the "+" of an international number.
    digit_words: Annotated[list[Spoken], Field(min_length=10, max_length=10)]
    plus_word: Spoken

    @model_validator(mode="after")
    def _default_region_has_number(self) -> Locale:
        if self.default_region not in self.emergency_numbers:
            raise ValueError(
                f"default_region {self.default_region!r} has no entry in emergency_numbers"
            )
        strays = sorted(set(self.alternative_numbers) - set(self.emergency_numbers))
        if strays:
            raise ValueError(
                f"alternative_numbers names region(s) with no emergency number: {', '.join(strays)}"
            )
        return self

    def say_number(self, number: str) -> str:
        """A phone number as words, one per digit ("nine one one"), never "nine hundred
        eleven" or a symbol read aloud. Long numbers get a pause after every third digit."""
        plus = number.startswith("+")
        digits = [self.digit_words[int(c)] for c in number if c.isdigit()]
        chunks = [digits[i : i + 3] for i in range(0, len(digits), 3)]
        if len(chunks) > 1 and len(chunks[-1]) == 1:
            chunks[-2:] = [chunks[-2] + chunks[-1]]  # "555 1234", not "555 123 4"
        said = ", ".join(" ".join(c) for c in chunks)
        return f"{self.plus_word} {said}" if plus else said


class PromptBook(StrictModel):
    """``prompts/<lang>/prompts.toml``: every fixed sentence, with optional variants."""

    prompts: dict[str, Variants]
    #: count_words[n - 1] is how the coach says the number n.
    count_words: Annotated[list[Spoken], Field(min_length=10)]
    side_names: dict[Identifier, Spoken]

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
            for i, text in enumerate(variants):
                try:
                    check_template(PromptId(pid), text, SAMPLE_FIELDS)
                except ValueError as exc:
                    raise ValueError(f"{pid}[{i}]: {exc}") from None
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


_PHRASE = re.compile(r"^[^\s\d.,!?;:\"()\[\]{}][^\d.,!?;:\"()\[\]{}]*$")


def _check_phrases(phrases: list[str], owner: str) -> None:
    for phrase in phrases:
        if phrase != phrase.lower().strip() or not _PHRASE.match(phrase):
            raise ValueError(
                f"phrase {phrase!r} of {owner!r} must be lower case, with no digits "
                "or punctuation other than apostrophes and hyphens"
            )


class Answers(StrictModel):
    """Whole sentences that answer one particular question ("i can walk")."""

    yes: list[Text] = []
    no: list[Text] = []

    @model_validator(mode="after")
    def _clean_and_disjoint(self) -> Answers:
        _check_phrases(self.yes, "yes")
        _check_phrases(self.no, "no")
        both = sorted(set(self.yes) & set(self.no))
        if both:
            raise ValueError(f"phrase(s) listed as both yes and no: {', '.join(both)}")
        return self


class Question(StrictModel):
    """One red-flag question. "Yes" always means the red flag is present."""

    id: Identifier
    ask: SpokenVariants
    #: A different wording, used once when the first answer was not understood.
    rephrase: SpokenVariants
    #: Sentences that answer this question only (typed or free text).
    answers: Answers = Answers()


class Screening(StrictModel):
    """``prompts/<lang>/screening.toml``."""

    questions: Annotated[list[Question], Field(min_length=1)]
    #: Sentences that answer the pain question asked mid-exercise.
    pain_answers: Answers = Answers()

    @field_validator("questions")
    @classmethod
    def _unique_ids(cls, questions: list[Question]) -> list[Question]:
        seen: set[str] = set()
        for q in questions:
            if q.id in seen:
                raise ValueError(f"question id {q.id!r} is used twice")
            seen.add(q.id)
        missing = [flag for flag in REQUIRED_RED_FLAGS if flag not in seen]
        if missing:
            raise ValueError(
                f"missing red-flag question(s) {', '.join(missing)}: every screening must ask "
                f"about each of {', '.join(REQUIRED_RED_FLAGS)}"
            )
        return questions


class Phase(StrictModel):
    """One movement inside a repetition: a cue, then a counted hold."""

    cue: Spoken
    #: Said instead of ``cue`` from the second repetition on, once the movement is known.
    short: OptionalSpoken = ""
    hold_seconds: Annotated[int, Field(ge=1, le=60)]


class Exercise(StrictModel):
    id: Identifier
    name: Spoken
    setup: SpokenVariants
    phases: Annotated[list[Phase], Field(min_length=1)]
    release: Spoken
    reps: Annotated[int, Field(ge=1, le=30)]
    rest_seconds: Annotated[int, Field(ge=0, le=120)]
    #: Empty for exercises done once; otherwise the order of sides, e.g. ["left", "right"].
    sides: list[Identifier] = []
    #: Spoken before switching to the next side.
    switch_side: OptionalSpoken = ""

    @model_validator(mode="after")
    def _switch_needs_sides(self) -> Exercise:
        if len(self.sides) > 1 and not self.switch_side:
            raise ValueError("switch_side is required when an exercise has more than one side")
        allowed = EXERCISE_PLACEHOLDERS if self.sides else frozenset()
        for text in self.texts():
            bad = _placeholders(text) - allowed
            if bad:
                where = "allowed: {side}, {other}" if self.sides else "it has no sides"
                raise ValueError(f"{text!r} uses placeholder(s) {sorted(bad)}; {where}")
        return self

    def texts(self) -> list[str]:
        """Every sentence of the exercise, before its side is filled in."""
        texts = [*self.setup, self.release, self.switch_side]
        return texts + [t for p in self.phases for t in (p.cue, p.short) if t]


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


#: Letters a recognizer's vocabulary uses, per language (others: any one script's letters).
#: A phrase with other characters ("yës", an emoji, a Cyrillic "е" that looks like "e")
#: matches no word of the model and would be dropped without a word; so it is refused.
ALPHABETS: dict[str, str] = {"en": "abcdefghijklmnopqrstuvwxyz"}


def _script(ch: str) -> str:
    return unicodedata.name(ch, "UNKNOWN").split()[0]


def check_phrase(phrase: str, language: str) -> None:
    """Raise ValueError unless ``phrase`` is lower-case words a recognizer can listen for:
    letters (with inner apostrophes or hyphens), one space between words."""
    if phrase != phrase.strip() or "  " in phrase:
        raise ValueError("must be words separated by single spaces, with none at either end")
    if phrase != unicodedata.normalize("NFC", phrase) or phrase != phrase.lower():
        raise ValueError("must be lower case (and NFC-normalized)")
    alphabet = ALPHABETS.get(language)
    scripts: set[str] = set()
    for word in phrase.split(" "):
        core = word.replace("'", "").replace("-", "")
        if not core or word.startswith("-") or word.endswith("-"):
            raise ValueError(f"word {word!r} is not a word")
        for ch in core:
            ok = ch in alphabet if alphabet else ch.isalpha()
            if not ok:
                raise ValueError(
                    f"character {ch!r} (U+{ord(ch):04X}) cannot be recognized in "
                    f"{language!r}: use only letters"
                    + (f" {alphabet[0]}-{alphabet[-1]}" if alphabet else "")
                    + ", apostrophes and hyphens"
                )
            scripts.add(_script(ch))
    if len(scripts) > 1:
        raise ValueError(f"mixes scripts ({', '.join(sorted(scripts))}): look-alike letters?")


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
    #: A longer limit for some intents. Worth it for "emergency" only: a decoder that
    #: stretches "call for help" over other words errs toward the emergency route.
    acoustic_max_words_for: dict[str, Annotated[int, Field(ge=1, le=6)]] = {}
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
        cls, phrases: dict[str, list[str]], info: ValidationInfo
    ) -> dict[str, list[str]]:
        language = str(info.data.get("language", ""))
        known = {i.value for i in Intent}
        unknown = sorted(set(phrases) - known)
        if unknown:
            raise ValueError(
                f"unknown command name(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        owner: dict[str, str] = {}
        for intent, words in phrases.items():
            for phrase in words:
                try:
                    check_phrase(phrase, language)
                except ValueError as exc:
                    raise ValueError(f"phrase {phrase!r} of {intent!r}: {exc}") from None
                if phrase in owner and owner[phrase] != intent:
                    raise ValueError(
                        f"phrase {phrase!r} belongs to both {owner[phrase]!r} and {intent!r}"
                    )
                owner[phrase] = intent
        return phrases

    @model_validator(mode="after")
    def _garbage_is_not_an_answer(self) -> GrammarBook:
        for word in self.garbage:
            try:
                check_phrase(word, self.language)
            except ValueError as exc:
                raise ValueError(f"garbage word {word!r}: {exc}") from None
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
        for name, needed in REQUIRED_GRAMMARS.items():
            if name not in grammars:
                raise ValueError(
                    f"missing [grammars.{name}]: the dialogue listens with it "
                    f"(required: {', '.join(sorted(REQUIRED_GRAMMARS))})"
                )
            lacking = sorted(needed - set(grammars[name].intents))
            if lacking:
                raise ValueError(
                    f"grammar {name!r} must include {', '.join(lacking)}: the dialogue "
                    "relies on them there"
                )
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
                ("acoustic_max_words_for", list(grammar.acoustic_max_words_for)),
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
            if len(p.split()) <= g.acoustic_max_words_for.get(i.value, g.acoustic_max_words)
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
        generic = self.grammars.phrases
        for q in [*self.screening.questions, None]:
            answers = q.answers if q is not None else self.screening.pain_answers
            name = q.id if q is not None else "pain_answers"
            for mine, rival in (("yes", "no"), ("no", "yes")):
                clash = sorted(set(getattr(answers, mine)) & set(generic.get(rival, [])))
                if clash:
                    raise ValueError(
                        f"{name}: answers.{mine} lists {', '.join(clash)}, which the grammars "
                        f"take as {rival!r}"
                    )
        longest = max(p.hold_seconds for e in self.routine.exercises for p in e.phases)
        if longest > len(self.prompts.count_words):
            raise ValueError(
                f"a hold of {longest} s needs {longest} count_words; prompts.toml has "
                f"{len(self.prompts.count_words)}"
            )
        self._render_every_prompt()
        return self

    def _render_every_prompt(self) -> None:
        """Say every prompt once, on paper, with the real values it will be given."""
        numbers = [*self.locale.emergency_numbers.values()]
        numbers += [n for ns in self.locale.alternative_numbers.values() for n in ns]
        values: dict[str, list[str]] = {
            # As the dialogue says a number: digit by digit.
            "number": [self.locale.say_number(n) for n in numbers],
            "other": [self.locale.say_number(n) for n in numbers],
            "exercise": [e.name for e in self.routine.exercises],
            "n": self.prompts.count_words[:1],
            "total": [self.prompts.count_word(len(self.routine.exercises))],
            "side": list(self.prompts.side_names.values()),
        }
        for pid in PromptId:
            for i, text in enumerate(self.prompts.prompts[pid.value]):
                used = _placeholders(text)
                combos = [SAMPLE_FIELDS] + [
                    {**SAMPLE_FIELDS, name: v} for name in used for v in values[name]
                ]
                for fields in combos:
                    try:
                        check_template(pid, text, fields)
                    except ValueError as exc:
                        raise ValueError(
                            f"prompts.toml: {pid.value}[{i}] said with {fields}: {exc}"
                        ) from None

    def spoken_words(self) -> set[str]:
        """Every word the guide itself can say (lower case), e.g. to recognize its echo."""
        texts: list[str] = [t for variants in self.prompts.prompts.values() for t in variants]
        texts += self.prompts.count_words + list(self.prompts.side_names.values())
        texts += [*self.locale.digit_words, self.locale.plus_word]
        for q in self.screening.questions:
            texts += q.ask + q.rephrase
        for ex in self.routine.exercises:
            texts += [ex.name, *ex.texts()]
        return {w for t in texts for w in words_said(t)}


def words_said(text: str) -> set[str]:
    """The words of a sentence the guide says, for knowing its echo: lower case, and with
    the bare form of each word ending in -ed or -ing beside it. Its echo of "Paused." was
    heard as "pause" and cut it off (bench echo), as "stopped" could be as "stop"."""
    words = set(re.findall(r"[a-z']+", text.lower()))
    forms: set[str] = set()
    for w in words:
        if w.endswith("ed") and len(w) > 4:
            forms |= {w[:-1], w[:-2]}  # paused: pause; ended: end
            if w[-3] == w[-4]:
                forms.add(w[:-3])  # stopped: stop
        elif w.endswith("ing") and len(w) > 5:
            forms |= {w[:-3], w[:-3] + "e"}  # counting: count; pausing: pause
            if w[-4] == w[-5]:
                forms.add(w[:-4])  # stopping: stop
    return words | forms


class DemoLine(StrictModel):
    """One thing the simulated user says, and when."""

    say: Text
    #: Say it at the next listening turn (default), or after the n-th count of coaching.
    after_count: Annotated[int, Field(ge=1)] | None = None


class DemoScenario(StrictModel):
    id: Identifier
    title: Text
    lines: Annotated[list[DemoLine], Field(min_length=1)]


class LoopbackLine(StrictModel):
    """What ``voiceguide check`` plays on the speaker for the microphone to recognize."""

    #: One of the grammar's yes phrases (checked by the content tests).
    say: Text
    #: Tried in order, one per attempt: a retry in another voice is a fresh test.
    voices: Annotated[list[Text], Field(min_length=1)]


class DemoScript(StrictModel):
    """``prompts/<lang>/demo.toml``: what the simulated user of ``voiceguide demo`` says."""

    #: The simulated user's voices, distinct from the guide's: the lines are said by
    #: each in turn (espeak-ng voice ids, with an optional ``+variant``).
    user_voices: Annotated[list[Text], Field(min_length=1)]
    loopback: LoopbackLine
    scenarios: Annotated[list[DemoScenario], Field(min_length=1)]

    @property
    def user_voice(self) -> str:
        """The first voice: the one ``bench latency`` answers in."""
        return self.user_voices[0]
