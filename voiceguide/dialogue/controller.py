"""The safety dialogue: welcome -> screening -> emergency | coaching -> end.

Pure logic over typed events with time passed in. The rules it exists to keep:

1. Coaching is reached only after a confident "no" to every red-flag question.
2. "Yes" to a red flag goes to the emergency route, and so do two unclear results in a
   row (silence, rejected speech, a low-confidence "no") on the same question, after one
   rephrased re-ask. A command during a question (louder, repeat...) is applied and the
   question asked again; it is not an answer, clear or unclear.
3. Emergency words go to the emergency route from any state, mid-count included. The
   way back ("false alarm", "I'm okay") is the whole screening, from its first question.
4. "It hurts", "pain" or "ouch" during an exercise halt the count at once, then ask one
   yes/no question about the pain; "yes" ends coaching with advice and the number.
   "Stop" halts at once too, then offers to resume or finish.
"""

from __future__ import annotations

import random
from enum import StrEnum

from voiceguide.config import Settings
from voiceguide.content.models import Answers, Content, PromptId
from voiceguide.dialogue.coach import (
    Coach,
    SpeechSeconds,
    compile_routine,
    estimated_speech,
)
from voiceguide.dialogue.events import (
    AnswerGiven,
    Cause,
    CommandApplied,
    End,
    HaltSpeech,
    Heard,
    InputEnded,
    InputEvent,
    Listen,
    NoMatch,
    OutputEvent,
    Route,
    RouteTo,
    Silence,
    Speak,
    Tick,
    VoiceChange,
    WakeAt,
)
from voiceguide.dialogue.intents import Answer, Intent
from voiceguide.dialogue.understanding import understander_for


class Phase(StrEnum):
    NOT_STARTED = "not_started"
    SCREENING = "screening"
    EMERGENCY = "emergency"
    COACHING = "coaching"
    #: A setup was said; waiting for "ready" before the first movement.
    SETUP = "setup"
    PAUSED = "paused"
    PAIN_CHECK = "pain_check"
    ENDED = "ended"


#: The grammar the recognizer should use in each phase.
GRAMMAR_FOR: dict[Phase, str] = {
    Phase.SCREENING: "yes_no",
    Phase.PAIN_CHECK: "yes_no",
    Phase.EMERGENCY: "emergency",
    Phase.COACHING: "coaching",
    Phase.SETUP: "coaching",
    Phase.PAUSED: "coaching",
}

#: Unclear results in a row on one safety question before the safe route is taken.
MAX_UNCLEAR = 2
#: Unanswered emergency reminders before the last message (then the guide stays quiet,
#: still listening, so it never talks over a call for long).
MAX_REMINDERS = 4
#: Getting into position (onto the floor, onto hands and knees) takes time: wait this
#: long for "ready", remind once, wait as long again, then begin.
READY_TIMEOUT_S = 30.0

#: Commands that change the voice or pace; applied in every state.
VOICE_COMMANDS = (Intent.SLOWER, Intent.FASTER, Intent.LOUDER, Intent.QUIETER)


class Dialogue:
    def __init__(
        self,
        content: Content,
        settings: Settings | None = None,
        speech_seconds: SpeechSeconds | None = None,
    ) -> None:
        self.content = content
        self.settings = settings or Settings(language=content.locale.language)
        #: How long a sentence takes to say. The runtime replaces the estimate with the
        #: synthesizer's real rendered length (``Session`` does it before ``start``).
        self.speech_seconds: SpeechSeconds = speech_seconds or estimated_speech(
            self.settings.words_per_second
        )
        self.rng = random.Random(self.settings.seed)
        self.understander = understander_for(content.grammars)
        self.phase = Phase.NOT_STARTED
        self.question = 0
        self.unclear = 0
        self.cleared: list[str] = []
        self.deadline: float | None = None
        self.rate = self.settings.speech_rate
        self.volume = self.settings.volume
        self.period = self.settings.count_period_s
        self.coach: Coach | None = None
        self._resume_at = 0
        self._last_question_text = ""
        self._ready_reminded = False
        self.reminders = 0
        self.quiet = False
        self.emergency_number = self._emergency_number()
        #: The number as it is said: digit by digit, in words.
        self.spoken_number = content.locale.say_number(self.emergency_number)
        self._alternatives = [content.locale.say_number(n) for n in self._alternative_numbers()]

    # ------------------------------------------------------------ public API

    def start(self, now: float) -> list[OutputEvent]:
        if self.phase is not Phase.NOT_STARTED:
            raise RuntimeError("the dialogue has already started")
        out: list[OutputEvent] = [
            self._say(PromptId.WELCOME),
            self._say(PromptId.SCREENING_INTRO),
        ]
        self.phase = Phase.SCREENING
        out += self._ask(now, rephrase=False, before=out)
        return out + self._wake()

    def handle(self, event: InputEvent, now: float) -> list[OutputEvent]:
        if self.phase is Phase.ENDED:
            return []
        if self.phase is Phase.NOT_STARTED:
            raise RuntimeError("call start() before handle()")
        out: list[OutputEvent] = []
        if isinstance(event, InputEnded):
            out += [self._say(PromptId.INPUT_ENDED), self._end("input ended")]
            return out
        if isinstance(event, Heard):
            intent = self._intent_of(event)
            if intent is Intent.EMERGENCY:
                out += self._emergency_word(now)
            else:
                out += self._on_intent(intent, now)
        elif isinstance(event, NoMatch | Silence):
            out += self._on_unclear(now)
        elif isinstance(event, Tick):
            if self.deadline is not None and now >= self.deadline:
                out += self._on_deadline(now)
            out += self._run_coach(now)
        return out + self._wake()

    @property
    def grammar(self) -> str | None:
        return GRAMMAR_FOR.get(self.phase)

    @property
    def current_question_id(self) -> str | None:
        if self.phase is not Phase.SCREENING:
            return None
        return self.content.screening.questions[self.question].id

    # ------------------------------------------------------------ understanding

    def _answers(self) -> Answers | None:
        """Whole-sentence answers to the question being asked now, if any."""
        if self.phase is Phase.SCREENING:
            return self.content.screening.questions[self.question].answers
        if self.phase is Phase.PAIN_CHECK:
            return self.content.screening.pain_answers
        return None

    def _intent_of(self, event: Heard) -> Intent | None:
        grammar = self.grammar or "yes_no"
        from_text = (
            self.understander.understand(event.text, grammar, self._answers())
            if event.text
            else None
        )
        if from_text is Intent.EMERGENCY or event.intent is Intent.EMERGENCY:
            return Intent.EMERGENCY
        intent = event.intent if event.intent is not None else from_text
        allowed = self.content.grammars.grammars[grammar].intents
        if intent is not None and intent.value not in allowed:
            return None
        if intent is Intent.NO and event.confidence < self.settings.no_min_confidence:
            return None  # Only a confident "no" counts as "no".
        return intent

    def _on_intent(self, intent: Intent | None, now: float) -> list[OutputEvent]:
        if self.phase is Phase.SCREENING:
            return self._screening(intent, now)
        if self.phase is Phase.EMERGENCY:
            return self._in_emergency(intent, now)
        if self.phase is Phase.PAIN_CHECK:
            return self._pain_check(intent, now)
        if self.phase is Phase.SETUP:
            return self._setup(intent, now)
        return self._coaching(intent, now)

    def _on_unclear(self, now: float) -> list[OutputEvent]:
        """Silence or rejected speech. It matters only where an answer is needed."""
        if self.phase is Phase.SCREENING:
            return self._screening(None, now)
        if self.phase is Phase.PAIN_CHECK:
            return self._pain_check(None, now)
        return []  # Chatter, a call with the dispatcher, noise: no answer was asked for.

    def _on_deadline(self, now: float) -> list[OutputEvent]:
        if self.phase is Phase.EMERGENCY:
            return self._remind(now)
        if self.phase is Phase.SETUP:
            return self._ready_timed_out(now)
        return self._on_unclear(now)

    # ------------------------------------------------------------ screening

    def _ask(self, now: float, rephrase: bool, before: list[OutputEvent]) -> list[OutputEvent]:
        q = self.content.screening.questions[self.question]
        variants = q.rephrase if rephrase else q.ask
        text = variants[self.rng.randrange(len(variants))]
        self._last_question_text = text
        speak = Speak(f"question:{q.id}:{'rephrase' if rephrase else 'ask'}", text)
        self._set_deadline(now, [*before, speak], self.settings.answer_timeout_s)
        return [speak, Listen("yes_no")]

    def _screening(self, intent: Intent | None, now: float) -> list[OutputEvent]:
        qid = self.content.screening.questions[self.question].id
        if intent is Intent.YES:
            return [AnswerGiven(qid, Answer.YES), *self._emergency(now, f"yes to {qid}", Cause.YES)]
        if intent is Intent.NO:
            out: list[OutputEvent] = [AnswerGiven(qid, Answer.NO)]
            self.cleared.append(qid)
            self.question += 1
            self.unclear = 0
            if self.question == len(self.content.screening.questions):
                return out + self._start_coaching(now)
            return out + self._ask(now, rephrase=False, before=[])
        again = Speak(f"question:{qid}:repeat", self._last_question_text)
        neutral = self._between_answers(intent, now, again)
        if neutral is not None:
            return neutral
        # Silence, rejected speech, a doubtful "no", or a word that answers nothing.
        self.unclear += 1
        out = [AnswerGiven(qid, Answer.UNCLEAR)]
        if self.unclear >= MAX_UNCLEAR:
            return out + self._emergency(now, f"no clear answer to {qid}", Cause.UNCLEAR)
        return out + self._ask(now, rephrase=True, before=[])

    def _between_answers(
        self, intent: Intent | None, now: float, question: Speak
    ) -> list[OutputEvent] | None:
        """A command heard while a yes/no question waits: applied, then the question is
        asked again. None when ``intent`` is not such a command."""
        if intent is Intent.REPEAT:
            said: list[OutputEvent] = [CommandApplied(Intent.REPEAT)]
        elif intent is Intent.HELP:
            said = [CommandApplied(Intent.HELP), self._say(PromptId.SCREENING_HELP)]
        elif intent in VOICE_COMMANDS:
            said = self._voice_command(intent)
        else:
            return None
        said.append(question)
        self._set_deadline(now, said, self.settings.answer_timeout_s)
        return [*said, Listen("yes_no")]

    # ------------------------------------------------------------ emergency

    def _emergency(self, now: float, reason: str, cause: Cause) -> list[OutputEvent]:
        """Action first: stay still and the number (twice), then why, then the options."""
        self.phase = Phase.EMERGENCY
        self.coach = None
        self.quiet = False
        self.reminders = 0
        said = [self._say(PromptId.EMERGENCY_UNCLEAR)] if cause is Cause.UNCLEAR else []
        said += [self._say(PromptId.EMERGENCY_SCRIPT), self._say(PromptId.EMERGENCY_WHY)]
        said += [self._say(PromptId.EMERGENCY_ALTERNATIVE, other=a) for a in self._alternatives]
        said.append(self._say(PromptId.EMERGENCY_OPTIONS))
        self._set_deadline(now, list(said), self.settings.emergency_reminder_s)
        return [HaltSpeech(), Route(RouteTo.EMERGENCY, reason, cause), *said, Listen("emergency")]

    def _emergency_word(self, now: float) -> list[OutputEvent]:
        if self.phase is not Phase.EMERGENCY:
            return self._emergency(now, "emergency word", Cause.EMERGENCY_WORD)
        # Already on the route: the short instruction, and the reminders start again.
        return [HaltSpeech(), *self._short_instruction(now, quiet=False)]

    def _short_instruction(self, now: float, quiet: bool) -> list[OutputEvent]:
        short = self._say(PromptId.EMERGENCY_SHORT)
        self.quiet = quiet
        if quiet:
            self.deadline = None
        else:
            self.reminders = 0
            self._set_deadline(now, [short], self.settings.emergency_reminder_s)
        return [short]

    def _in_emergency(self, intent: Intent | None, now: float) -> list[OutputEvent]:
        if intent is Intent.END:
            return [CommandApplied(Intent.END), self._say(PromptId.GOODBYE), self._end("ended")]
        if intent is Intent.REPEAT:
            # The short instruction and the number, not the whole message again.
            return [CommandApplied(Intent.REPEAT), *self._short_instruction(now, self.quiet)]
        if intent is Intent.QUIET:
            self.quiet = True
            self.deadline = None
            return [CommandApplied(Intent.QUIET), self._say(PromptId.EMERGENCY_QUIET)]
        if intent is Intent.FALSE_ALARM:
            return self._restart_screening(now)
        if intent is Intent.HELP:
            return [CommandApplied(Intent.HELP), self._say(PromptId.EMERGENCY_OPTIONS)]
        return self._voice_command(intent)

    def _restart_screening(self, now: float) -> list[OutputEvent]:
        """The way back from the emergency route: every question again, from the first."""
        self.phase = Phase.SCREENING
        self.question = 0
        self.unclear = 0
        self.cleared = []
        self.quiet = False
        said = self._say(PromptId.EMERGENCY_CANCELLED)
        return [
            CommandApplied(Intent.FALSE_ALARM),
            Route(RouteTo.SCREENING, "false alarm"),
            said,
            *self._ask(now, rephrase=False, before=[said]),
        ]

    def _remind(self, now: float) -> list[OutputEvent]:
        if self.quiet:
            self.deadline = None
            return []
        self.reminders += 1
        if self.reminders > MAX_REMINDERS:
            self.deadline = None
            return [self._say(PromptId.EMERGENCY_LAST)]
        reminder = self._say(PromptId.EMERGENCY_REMINDER)
        self._set_deadline(now, [reminder], self.settings.emergency_reminder_s)
        return [reminder]

    # ------------------------------------------------------------ coaching

    def _start_coaching(self, now: float) -> list[OutputEvent]:
        self.phase = Phase.COACHING
        self.deadline = None
        steps = compile_routine(self.content, self.rng)
        self.coach = Coach(steps, self.period, self.speech_seconds)
        self.coach.metronome.rate = self.rate
        self.coach.start(now)
        return [Route(RouteTo.COACHING, "cleared"), Listen("coaching"), *self._run_coach(now)]

    def _run_coach(self, now: float) -> list[OutputEvent]:
        if self.phase is not Phase.COACHING or self.coach is None:
            return []
        out = self.coach.advance(now)
        if self.coach.waiting:
            # A setup was said: wait for "ready" (the coach stays put until then).
            self.phase = Phase.SETUP
            self._ready_reminded = False
            self._set_deadline(self._said_at(now, out), out[-1:], READY_TIMEOUT_S)
        elif self.coach.finished:
            out += [Route(RouteTo.END, "routine complete"), self._end("routine complete")]
        return out

    def _said_at(self, now: float, out: list[OutputEvent]) -> float:
        """When the last sentence of ``out`` starts: its scheduled beat, not the wake-up."""
        assert self.coach is not None
        return min(now, self.coach.speaking_until - self._seconds(out[-1:]))

    def _setup(self, intent: Intent | None, now: float) -> list[OutputEvent]:
        coach = self.coach
        assert coach is not None
        if intent is Intent.RESUME:  # "ready"
            self.phase = Phase.COACHING
            self.deadline = None
            coach.ready(now)
            return [CommandApplied(Intent.RESUME), *self._run_coach(now)]
        if intent is Intent.REPEAT:  # the setup again, then the wait again
            self.phase = Phase.COACHING
            self.deadline = None
            coach.jump(coach.setup_point(), now)
            return [CommandApplied(Intent.REPEAT), HaltSpeech(), *self._run_coach(now)]
        if intent is Intent.HELP or intent in VOICE_COMMANDS:
            said = self._voice_command(intent) or [
                CommandApplied(Intent.HELP),
                self._say(PromptId.COACHING_HELP),
            ]
            self._set_deadline(now, said, READY_TIMEOUT_S)
            return said
        return self._coaching(intent, now)

    def _ready_timed_out(self, now: float) -> list[OutputEvent]:
        coach = self.coach
        assert coach is not None
        if not self._ready_reminded:
            self._ready_reminded = True
            reminder = self._say(PromptId.READY_REMINDER)
            self._set_deadline(now, [reminder], READY_TIMEOUT_S)
            return [reminder]
        self.phase = Phase.COACHING
        self.deadline = None
        begin = self._say(PromptId.READY_TIMEOUT)
        coach.ready(now, coach.speak_now_seconds(begin.text))
        return [begin]

    def _coaching(self, intent: Intent | None, now: float) -> list[OutputEvent]:
        coach = self.coach
        if intent is None or coach is None:
            return []
        paused = self.phase is Phase.PAUSED
        if intent is Intent.PAIN:
            return self._halt_for_pain(intent, now)
        if intent is Intent.STOP and not paused:
            # Halt at once; nothing was said about pain, so offer to resume or finish.
            self._resume_at = coach.resume_point()
            self.phase = Phase.PAUSED
            self.deadline = None
            return [CommandApplied(intent), HaltSpeech(), self._say(PromptId.STOPPED)]
        if intent in (Intent.STOP, Intent.END):
            return [
                CommandApplied(intent),
                HaltSpeech(),
                self._say(PromptId.WORKOUT_STOPPED),
                self._say(PromptId.GOODBYE),
                Route(RouteTo.END, "stopped by the user"),
                self._end("stopped by the user"),
            ]
        if intent is Intent.PAUSE and not paused:
            self._resume_at = coach.resume_point()
            self.phase = Phase.PAUSED
            self.deadline = None
            return [CommandApplied(intent), HaltSpeech(), self._say(PromptId.PAUSED)]
        if intent is Intent.RESUME and paused:
            return [CommandApplied(intent), *self._continue(PromptId.RESUMED, self._resume_at, now)]
        if intent is Intent.SKIP:
            if paused:
                coach.jump(self._resume_at, now)
            target = coach.next_exercise_point()
            return [
                CommandApplied(intent),
                HaltSpeech(),
                *self._continue(PromptId.SKIPPED, target, now),
            ]
        if intent is Intent.REPEAT:
            cue = coach.steps[coach.repeat_point()]
            if paused:
                return [CommandApplied(intent), Speak(cue.prompt, cue.text)]
            coach.jump(coach.repeat_point(), now)
            return [CommandApplied(intent), HaltSpeech(), *self._run_coach(now)]
        if intent is Intent.HELP:
            pid = PromptId.PAUSED_HELP if paused else PromptId.COACHING_HELP
            speak = self._say(pid)
            if not paused:
                coach.jump(coach.interrupted_point(now), now, coach.speak_now_seconds(speak.text))
                return [CommandApplied(intent), HaltSpeech(), speak]
            return [CommandApplied(intent), speak]
        voice = self._voice_command(intent)
        if voice and not paused:
            # Cut what is playing, so the answer comes now and not after the next cue;
            # a sentence that was cut is said again, at the new pace.
            coach.metronome.rate = self.rate
            if intent in (Intent.SLOWER, Intent.FASTER):
                coach.metronome.period = self.period
            spoken = " ".join(e.text for e in voice if isinstance(e, Speak))
            coach.jump(coach.interrupted_point(now), now, coach.speak_now_seconds(spoken))
            return [HaltSpeech(), *voice]
        return voice

    def _continue(self, pid: PromptId, index: int, now: float) -> list[OutputEvent]:
        assert self.coach is not None
        self.phase = Phase.COACHING
        self.deadline = None
        speak = self._say(pid)
        self.coach.jump(index, now, self.coach.speak_now_seconds(speak.text))
        return [speak, Listen("coaching"), *self._run_coach(now)]

    def _halt_for_pain(self, intent: Intent, now: float) -> list[OutputEvent]:
        assert self.coach is not None
        if self.phase in (Phase.COACHING, Phase.SETUP):
            self._resume_at = self.coach.resume_point()
        self.phase = Phase.PAIN_CHECK
        self.unclear = 0
        ask = self._say(PromptId.PAIN_CHECK)
        self._set_deadline(now, [ask], self.settings.answer_timeout_s)
        return [CommandApplied(intent), HaltSpeech(), ask, Listen("yes_no")]

    def _pain_check(self, intent: Intent | None, now: float) -> list[OutputEvent]:
        if intent is Intent.YES:
            return self._end_for_pain("pain more than a mild ache", Answer.YES)
        if intent is Intent.NO:
            self.phase = Phase.PAUSED
            self.deadline = None
            return [
                AnswerGiven("pain_check", Answer.NO),
                self._say(PromptId.PAIN_MILD),
                Listen("coaching"),
            ]
        neutral = self._between_answers(intent, now, self._say(PromptId.PAIN_CHECK))
        if neutral is not None:
            return neutral
        self.unclear += 1
        if self.unclear >= MAX_UNCLEAR:
            # Unanswered pain is treated as the serious kind.
            return self._end_for_pain("no clear answer about the pain", Answer.UNCLEAR)
        ask = self._say(PromptId.PAIN_CHECK_REASK)
        self._set_deadline(now, [ask], self.settings.answer_timeout_s)
        return [AnswerGiven("pain_check", Answer.UNCLEAR), ask]

    def _end_for_pain(self, reason: str, value: Answer) -> list[OutputEvent]:
        # Ends with the number itself: nobody listens after this to hear "say help".
        return [
            AnswerGiven("pain_check", value),
            self._say(PromptId.PAIN_SHARP_END),
            self._say(PromptId.GOODBYE),
            Route(RouteTo.END, reason),
            self._end(reason),
        ]

    # ------------------------------------------------------------ shared

    def _voice_command(self, intent: Intent | None) -> list[OutputEvent]:
        s = self.settings
        if intent is Intent.SLOWER:
            if self.rate <= s.min_speech_rate + 1e-9 and self.period >= s.max_count_period_s - 1e-9:
                return [self._say(PromptId.AT_SLOWEST)]
            self.rate = max(s.min_speech_rate, self.rate - s.speech_rate_step)
            self.period = min(s.max_count_period_s, self.period + s.count_period_step_s)
            ack = PromptId.SLOWER
        elif intent is Intent.FASTER:
            if self.rate >= s.max_speech_rate - 1e-9 and self.period <= s.min_count_period_s + 1e-9:
                return [self._say(PromptId.AT_FASTEST)]
            self.rate = min(s.max_speech_rate, self.rate + s.speech_rate_step)
            self.period = max(s.min_count_period_s, self.period - s.count_period_step_s)
            ack = PromptId.FASTER
        elif intent is Intent.LOUDER:
            if self.volume >= 1.0 - 1e-9:
                return [self._say(PromptId.AT_LOUDEST)]
            self.volume = min(1.0, self.volume + s.volume_step)
            ack = PromptId.LOUDER
        elif intent is Intent.QUIETER:
            if self.volume <= s.min_volume + 1e-9:
                return [self._say(PromptId.AT_QUIETEST)]
            self.volume = max(s.min_volume, self.volume - s.volume_step)
            ack = PromptId.QUIETER
        else:
            return []
        return [CommandApplied(intent), VoiceChange(self.rate, self.volume), self._say(ack)]

    def _say(self, pid: PromptId, **extra: str) -> Speak:
        fields: dict[str, str] = {"number": self.spoken_number, **extra}
        return Speak(pid.value, self.content.prompts.choose(pid, self.rng, **fields))

    def _seconds(self, spoken: list[OutputEvent]) -> float:
        return sum(self.speech_seconds(e.text, self.rate) for e in spoken if isinstance(e, Speak))

    def _set_deadline(self, now: float, spoken: list[OutputEvent], wait: float) -> None:
        self.deadline = now + self._seconds(spoken) + wait

    def _wake(self) -> list[OutputEvent]:
        times = [t for t in (self.deadline, self._coach_due()) if t is not None]
        return [WakeAt(min(times))] if times and self.phase is not Phase.ENDED else []

    def _coach_due(self) -> float | None:
        if self.phase is Phase.COACHING and self.coach is not None:
            return self.coach.next_due()
        return None

    def _end(self, reason: str) -> End:
        self.phase = Phase.ENDED
        self.deadline = None
        return End(reason)

    def _emergency_number(self) -> str:
        if self.settings.emergency_number:
            return self.settings.emergency_number
        numbers = self.content.locale.emergency_numbers
        region = self._region()
        if region not in numbers:
            known = ", ".join(sorted(numbers))
            raise ValueError(f"no emergency number for region {region!r}; known: {known}")
        return numbers[region]

    def _region(self) -> str:
        return self.settings.region or self.content.locale.default_region

    def _alternative_numbers(self) -> list[str]:
        """Only numbers that work where the user is. With a number of one's own (a care
        home's line), the region's public number is the fallback."""
        locale = self.content.locale
        region = self._region()
        if self.settings.emergency_number:
            public = locale.emergency_numbers.get(region)
            return [public] if public and public != self.settings.emergency_number else []
        return list(locale.alternative_numbers.get(region, []))
