"""The safety dialogue: welcome -> screening -> emergency | coaching -> end.

Pure logic over typed events with time passed in. The rules it exists to keep:

1. Coaching is reached only after a confident "no" to every red-flag question.
2. "Yes" to a red flag goes to the emergency route, and so do two unclear results in a
   row (silence, rejected speech, a low-confidence "no") on the same question, after one
   rephrased re-ask.
3. Emergency words go to the emergency route from any state, mid-count included.
4. "It hurts", "pain", "ouch" or "stop" during an exercise halt the count at once, then
   ask whether the pain is sharp or shooting; "yes" ends coaching with advice.
"""

from __future__ import annotations

import random
from enum import StrEnum

from voiceguide.config import Settings
from voiceguide.content.models import Content, PromptId
from voiceguide.dialogue.coach import Coach, compile_routine, estimate_speech_seconds
from voiceguide.dialogue.events import (
    AnswerGiven,
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
    PAUSED = "paused"
    PAIN_CHECK = "pain_check"
    ENDED = "ended"


#: The grammar the recognizer should use in each phase.
GRAMMAR_FOR: dict[Phase, str] = {
    Phase.SCREENING: "yes_no",
    Phase.PAIN_CHECK: "yes_no",
    Phase.EMERGENCY: "emergency",
    Phase.COACHING: "coaching",
    Phase.PAUSED: "coaching",
}

#: Unclear results in a row on one safety question before the safe route is taken.
MAX_UNCLEAR = 2


class Dialogue:
    def __init__(self, content: Content, settings: Settings | None = None) -> None:
        self.content = content
        self.settings = settings or Settings(language=content.locale.language)
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
        self.emergency_number = self._emergency_number()
        self.spoken_number = "-".join(self.emergency_number)

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
                out += self._emergency(now, "emergency word")
            else:
                out += self._on_intent(intent, event.confidence, now)
        elif isinstance(event, NoMatch | Silence):
            out += self._on_unclear(now)
        elif isinstance(event, Tick):
            if self.deadline is not None and now >= self.deadline:
                out += self._on_unclear(now)
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

    def _intent_of(self, event: Heard) -> Intent | None:
        grammar = self.grammar or "yes_no"
        from_text = self.understander.understand(event.text, grammar) if event.text else None
        if from_text is Intent.EMERGENCY or event.intent is Intent.EMERGENCY:
            return Intent.EMERGENCY
        intent = event.intent if event.intent is not None else from_text
        allowed = self.content.grammars.grammars[grammar].intents
        if intent is not None and intent.value not in allowed:
            return None
        if intent is Intent.NO and event.confidence < self.settings.no_min_confidence:
            return None  # Only a confident "no" counts as "no".
        return intent

    def _on_intent(self, intent: Intent | None, confidence: float, now: float) -> list[OutputEvent]:
        if self.phase is Phase.SCREENING:
            return self._screening(intent, now)
        if self.phase is Phase.EMERGENCY:
            return self._in_emergency(intent, now)
        if self.phase is Phase.PAIN_CHECK:
            return self._pain_check(intent, now)
        return self._coaching(intent, now)

    def _on_unclear(self, now: float) -> list[OutputEvent]:
        if self.phase is Phase.SCREENING:
            return self._screening(None, now)
        if self.phase is Phase.PAIN_CHECK:
            return self._pain_check(None, now)
        if self.phase is Phase.EMERGENCY:
            return self._remind(now)
        return []  # While coaching, chatter and silence are fine.

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
            return [AnswerGiven(qid, Answer.YES), *self._emergency(now, f"yes to {qid}")]
        if intent is Intent.NO:
            out: list[OutputEvent] = [AnswerGiven(qid, Answer.NO)]
            self.cleared.append(qid)
            self.question += 1
            self.unclear = 0
            if self.question == len(self.content.screening.questions):
                return out + self._start_coaching(now)
            return out + self._ask(now, rephrase=False, before=[])
        if intent is Intent.REPEAT:
            speak = Speak(f"question:{qid}:repeat", self._last_question_text)
            self._set_deadline(now, [speak], self.settings.answer_timeout_s)
            return [speak, Listen("yes_no")]
        if intent is Intent.HELP:
            help_ = self._say(PromptId.SCREENING_HELP)
            speak = Speak(f"question:{qid}:repeat", self._last_question_text)
            self._set_deadline(now, [help_, speak], self.settings.answer_timeout_s)
            return [help_, speak, Listen("yes_no")]
        voice = self._voice_command(intent)
        if voice:
            speak = Speak(f"question:{qid}:repeat", self._last_question_text)
            self._set_deadline(now, [*voice, speak], self.settings.answer_timeout_s)
            return [*voice, speak, Listen("yes_no")]
        # Silence, rejected speech, a doubtful "no", or a word that answers nothing.
        self.unclear += 1
        out = [AnswerGiven(qid, Answer.UNCLEAR)]
        if self.unclear >= MAX_UNCLEAR:
            return out + self._emergency(now, f"no clear answer to {qid}")
        return out + self._ask(now, rephrase=True, before=[])

    # ------------------------------------------------------------ emergency

    def _emergency(self, now: float, reason: str) -> list[OutputEvent]:
        self.phase = Phase.EMERGENCY
        self.coach = None
        script = self._say(PromptId.EMERGENCY_SCRIPT)
        options = self._say(PromptId.EMERGENCY_OPTIONS)
        self._set_deadline(now, [script, options], self.settings.emergency_reminder_s)
        return [
            HaltSpeech(),
            Route(RouteTo.EMERGENCY, reason),
            script,
            options,
            Listen("emergency"),
        ]

    def _in_emergency(self, intent: Intent | None, now: float) -> list[OutputEvent]:
        if intent is Intent.END:
            return [CommandApplied(Intent.END), self._say(PromptId.GOODBYE), self._end("ended")]
        if intent is Intent.REPEAT:
            script = self._say(PromptId.EMERGENCY_SCRIPT)
            options = self._say(PromptId.EMERGENCY_OPTIONS)
            self._set_deadline(now, [script, options], self.settings.emergency_reminder_s)
            return [CommandApplied(Intent.REPEAT), script, options]
        if intent is Intent.HELP:
            options = self._say(PromptId.EMERGENCY_OPTIONS)
            self._set_deadline(now, [options], self.settings.emergency_reminder_s)
            return [options]
        voice = self._voice_command(intent)
        return voice + self._remind(now)

    def _remind(self, now: float) -> list[OutputEvent]:
        reminder = self._say(PromptId.EMERGENCY_REMINDER)
        self._set_deadline(now, [reminder], self.settings.emergency_reminder_s)
        return [reminder]

    # ------------------------------------------------------------ coaching

    def _start_coaching(self, now: float) -> list[OutputEvent]:
        self.phase = Phase.COACHING
        self.deadline = None
        steps = compile_routine(self.content, self.rng)
        self.coach = Coach(steps, self.period, self.settings.words_per_second)
        self.coach.metronome.rate = self.rate
        self.coach.start(now)
        return [Route(RouteTo.COACHING, "cleared"), Listen("coaching"), *self._run_coach(now)]

    def _run_coach(self, now: float) -> list[OutputEvent]:
        if self.phase is not Phase.COACHING or self.coach is None:
            return []
        out = self.coach.advance(now)
        if self.coach.finished:
            out += [Route(RouteTo.END, "routine complete"), self._end("routine complete")]
        return out

    def _coaching(self, intent: Intent | None, now: float) -> list[OutputEvent]:
        coach = self.coach
        if intent is None or coach is None:
            return []
        paused = self.phase is Phase.PAUSED
        if intent in (Intent.PAIN, Intent.STOP) and not paused:
            return self._halt_for_pain(intent, now)
        if intent is Intent.PAIN:
            return self._halt_for_pain(intent, now)
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
            return [CommandApplied(intent), HaltSpeech(), self._say(PromptId.PAUSED)]
        if intent is Intent.RESUME and paused:
            return [CommandApplied(intent), *self._continue(PromptId.RESUMED, self._resume_at, now)]
        if intent is Intent.SKIP:
            if paused:
                coach.index = self._resume_at
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
                coach.jump(coach.index, now, coach.speak_now_beats(speak.text))
            return [CommandApplied(intent), speak]
        voice = self._voice_command(intent)
        if voice and not paused:
            coach.metronome.rate = self.rate
            spoken = " ".join(e.text for e in voice if isinstance(e, Speak))
            if intent in (Intent.SLOWER, Intent.FASTER):
                coach.metronome.period = self.period
            coach.jump(coach.index, now, coach.speak_now_beats(spoken))
        return voice

    def _continue(self, pid: PromptId, index: int, now: float) -> list[OutputEvent]:
        assert self.coach is not None
        self.phase = Phase.COACHING
        self.deadline = None
        speak = self._say(pid)
        self.coach.jump(index, now, self.coach.speak_now_beats(speak.text))
        return [speak, Listen("coaching"), *self._run_coach(now)]

    def _halt_for_pain(self, intent: Intent, now: float) -> list[OutputEvent]:
        assert self.coach is not None
        if self.phase is Phase.COACHING:
            self._resume_at = self.coach.resume_point()
        self.phase = Phase.PAIN_CHECK
        self.unclear = 0
        ask = self._say(PromptId.PAIN_CHECK)
        self._set_deadline(now, [ask], self.settings.answer_timeout_s)
        return [CommandApplied(intent), HaltSpeech(), ask, Listen("yes_no")]

    def _pain_check(self, intent: Intent | None, now: float) -> list[OutputEvent]:
        if intent is Intent.YES:
            return self._end_for_pain("sharp or shooting pain", Answer.YES)
        if intent is Intent.NO:
            self.phase = Phase.PAUSED
            self.deadline = None
            return [
                AnswerGiven("pain_sharp", Answer.NO),
                self._say(PromptId.PAIN_MILD),
                Listen("coaching"),
            ]
        if intent is Intent.REPEAT:
            ask = self._say(PromptId.PAIN_CHECK)
            self._set_deadline(now, [ask], self.settings.answer_timeout_s)
            return [ask]
        self.unclear += 1
        if self.unclear >= MAX_UNCLEAR:
            # Unanswered pain is treated as the serious kind.
            return self._end_for_pain("no clear answer about the pain", Answer.UNCLEAR)
        ask = self._say(PromptId.PAIN_CHECK_REASK)
        self._set_deadline(now, [ask], self.settings.answer_timeout_s)
        return [AnswerGiven("pain_sharp", Answer.UNCLEAR), ask]

    def _end_for_pain(self, reason: str, value: Answer) -> list[OutputEvent]:
        return [
            AnswerGiven("pain_sharp", value),
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

    def _say(self, pid: PromptId) -> Speak:
        fields: dict[str, str] = {}
        if pid in (PromptId.EMERGENCY_SCRIPT, PromptId.EMERGENCY_REMINDER):
            fields = {
                # Digits apart, so speech says "nine one one", not "nine hundred eleven".
                "number": self.spoken_number,
                "alternatives": self.content.locale.alternatives,
            }
        return Speak(pid.value, self.content.prompts.choose(pid, self.rng, **fields))

    def _set_deadline(self, now: float, spoken: list[OutputEvent], wait: float) -> None:
        talk = sum(
            estimate_speech_seconds(e.text, self.settings.words_per_second, self.rate)
            for e in spoken
            if isinstance(e, Speak)
        )
        self.deadline = now + talk + wait

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
        region = self.settings.region or self.content.locale.default_region
        if region not in numbers:
            known = ", ".join(sorted(numbers))
            raise ValueError(f"no emergency number for region {region!r}; known: {known}")
        return numbers[region]
