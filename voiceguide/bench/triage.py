"""``voiceguide bench triage``: whole screenings, the number that says whether the product
works.

Simulated users go through the real ``Dialogue`` controller. Every time it asks, the
user answers with a fresh real recording drawn from DIR, which is said into a quiet room,
cut by the runtime's endpointer and decided by the recognizer exactly as live
(``runtime/utterance.py``). The first utterance decides the turn (a rejected one that
more speech followed at once is dropped, as live: ``utterance.superseded``); anything the
endpointer cuts after it is heard over the guide's next sentence, so it is judged by the
turn's strict over-speech grammar, as the runtime would. Saying nothing lets the
question's timeout pass.

- healthy: "no" to every question (should reach coaching);
- injured: "yes" to one red flag chosen at random, "no" to the rest (must reach the
  emergency route);
- unresponsive: silence, room noises or unrelated words (must reach the emergency route).

With ``--snr DB`` the room has talk in it (the pool's _background_noise_, or the babble of
``bench asr --snr``) over the whole stream, at DB under each clip said; where the user
says nothing, the talk goes on at the level of the last clip that user said, and the
endpointer may cut some of it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voiceguide.audio.files import AudioFormatError, load_audio
from voiceguide.audio.vad import RATE, Segment
from voiceguide.bench.asr import Int16, noise_source, silence_items, stream_noise
from voiceguide.bench.report import emit
from voiceguide.bench.speechbench import (
    NOISE,
    SILENCE,
    Progress,
    add_options,
    audio_files,
    ratio,
    run_with_recognizer,
)
from voiceguide.config import Settings
from voiceguide.content.models import Content, words_said
from voiceguide.dialogue.clock import FakeClock
from voiceguide.dialogue.controller import Dialogue, Phase
from voiceguide.dialogue.events import OutputEvent, Route, Speak, Tick
from voiceguide.runtime.utterance import (
    Piece,
    decide,
    padded,
    pieces,
    superseded,
    with_following,
)
from voiceguide.speech.recognizer import Recognizer

KINDS = ("healthy", "injured", "unresponsive")
NDFloat = npt.NDArray[np.float64]
#: Answers after which a screening is cut off (a loop would be a bug worth seeing).
MAX_ATTEMPTS = 40


class Clips:
    """Recordings of one kind, each drawn once before any is drawn again (reshuffled)."""

    def __init__(self, name: str, sources: list[Path | Int16], rng: np.random.Generator):
        if not sources:
            raise FileNotFoundError(f"no {name} clips")
        self.name, self.sources, self.rng = name, sources, rng
        self._order: list[int] = []

    def draw(self) -> Int16:
        while True:
            if not self._order:
                self._order = [int(i) for i in self.rng.permutation(len(self.sources))]
            src = self.sources[self._order.pop()]
            if isinstance(src, np.ndarray):
                return src
            try:
                return load_audio(src)
            except AudioFormatError as exc:  # said once; the clip is not drawn again
                print(f"bench triage: skipped {exc}", file=sys.stderr)
                self.sources = [s for s in self.sources if s is not src]
                if not self.sources:
                    raise FileNotFoundError(f"no readable {self.name} clips") from None
                self._order = []


@dataclass
class Pools:
    yes: Clips
    no: Clips
    other: Clips
    noise: Clips

    @classmethod
    def load(cls, data: Path, seed: int) -> Pools:
        if not data.is_dir():
            raise FileNotFoundError(f"{data}: not a folder")
        rng = np.random.default_rng(seed)
        folders = {p.name: audio_files(p) for p in data.iterdir() if p.is_dir()}
        other: list[Path | Int16] = [
            f for name, fs in folders.items() if name not in ("yes", "no", NOISE) for f in fs
        ]
        noise: list[Path | Int16] = [i.src for i in silence_items(66, seed, with_babble=True)]
        return cls(
            Clips("yes", list(folders.get("yes", [])), rng),
            Clips("no", list(folders.get("no", [])), rng),
            Clips("unrelated-word", [f for f in other if not _is_silence(f)], rng),
            Clips("non-speech", noise, rng),
        )


def _is_silence(src: Path | Int16) -> bool:
    return isinstance(src, Path) and src.parent.name == SILENCE


@dataclass
class Screening:
    kind: str
    outcome: str = ""
    #: Why the emergency route was taken: "yes", "unclear" or "emergency word"
    #: (``Cause``; "" for the other routes).
    why: str = ""
    questions: int = 0
    attempts: int = 0
    decode_s: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Talk:
    """Talk in the room (``--snr``): ``noise`` at ``snr_db`` under each clip said."""

    noise: Int16
    snr_db: float

    def under(self, clip: Int16, level_of: Int16, rng: np.random.Generator) -> NDFloat | None:
        """The talk over the whole stream ``clip`` is said in, at the SNR against
        ``level_of`` (the clip itself, or the last one said where nothing is)."""
        return stream_noise(self.noise, clip, level_of, self.snr_db, rng)


class User:
    def __init__(self, kind: str, pools: Pools, rng: np.random.Generator, questions: int):
        self.kind, self.pools, self.rng = kind, pools, rng
        self.red_flag = int(rng.integers(questions))
        #: The last clip said: where nothing is said, the room's talk keeps its level.
        self.last_said: Int16 | None = None

    def answer(self, question: int) -> Int16 | None:
        """The clip said to this question (None: says nothing)."""
        if self.kind == "healthy":
            return self.pools.no.draw()
        if self.kind == "injured":
            return (self.pools.yes if question == self.red_flag else self.pools.no).draw()
        pick = int(self.rng.integers(3))
        if pick == 0:
            return None
        return (self.pools.noise if pick == 1 else self.pools.other).draw()


def screen(
    content: Content,
    recognizer: Recognizer,
    user: User,
    rng: np.random.Generator,
    seed: int,
    whole_clip: bool = False,
    talk: Talk | None = None,
) -> Screening:
    clock = FakeClock()
    dialogue = Dialogue(content, Settings(language=content.locale.language, seed=seed))
    record = Screening(user.kind)
    out = dialogue.start(clock.now())
    asked: set[int] = set()
    while dialogue.phase is Phase.SCREENING and record.attempts < MAX_ATTEMPTS:
        question = dialogue.question
        asked.add(question)
        turn = dialogue.grammar or "yes_no"
        clip = user.answer(question)
        record.attempts += 1
        if clip is not None:
            user.last_said = clip
        if talk is not None and not whole_clip:
            if user.last_said is None:  # silent from the first question: a "no"'s level
                user.last_said = user.pools.no.draw()
            said = clip if clip is not None else np.zeros(RATE, dtype=np.int16)
            cut = pieces(content, said, turn, rng, talk.under(said, user.last_said, rng))
        elif clip is None:
            cut = []
        elif whole_clip:
            cut = [Piece(padded(clip), Segment(0, 0, 0))]
        else:
            cut = pieces(content, clip, turn, rng)
        clock.advance(2.0 + (0 if clip is None else len(clip) / 16_000))
        told = False
        spent = 0.0
        for piece, following in with_following(cut):
            # After the first utterance the dialogue has answered and talks again: what
            # follows is heard over the guide, judged by the strict over-speech grammar.
            speaking = _words_spoken(out) if told else frozenset()
            decision = decide(recognizer, content, piece.audio, turn, told, speaking)
            if decision.result is not None:
                spent += decision.result.decode_seconds
            if decision.event is None or superseded(decision, piece.segment, following):
                continue
            out = dialogue.handle(decision.event, clock.now())
            told = True
            if dialogue.phase is not Phase.SCREENING:
                break
        record.decode_s.append(spent)
        if not told and dialogue.deadline is not None:  # nothing said: the timeout passes
            clock.set(max(clock.now(), dialogue.deadline))
            out = dialogue.handle(Tick(), clock.now())
    record.questions = len(asked)
    routes = [e for e in out if isinstance(e, Route)]
    record.outcome = routes[-1].to.value if routes else dialogue.phase.value
    cause = routes[-1].cause if routes else None
    record.why = cause.value if cause is not None else ""
    return record


def _words_spoken(events: list[OutputEvent]) -> frozenset[str]:
    text = " ".join(e.text for e in events if isinstance(e, Speak))
    return frozenset(words_said(text))


def run_bench(
    data: Path,
    recognizer: Recognizer,
    content: Content,
    users: int,
    seed: int,
    progress: bool = True,
    whole_clip: bool = False,
    kinds: tuple[str, ...] = KINDS,
    snr: float | None = None,
) -> dict[str, object]:
    """``users`` screenings of each of ``kinds``; a kind left out reports null."""
    pools = Pools.load(data, seed)
    talk = Talk(noise_source(data, seed), snr) if snr is not None else None
    rng = np.random.default_rng(seed)
    nq = len(content.screening.questions)
    results: list[Screening] = []
    show = Progress("bench triage", users * len(kinds), progress)
    for n in range(users):
        for kind in kinds:
            user = User(kind, pools, rng, nq)
            results.append(
                screen(content, recognizer, user, rng, seed * 100_003 + n, whole_clip, talk)
            )
            show.step(len(results))
    by_kind = {k: [r for r in results if r.kind == k] for k in KINDS}

    def share(kind: str, outcome: str) -> float | None:
        group = by_kind[kind]
        return ratio(sum(r.outcome == outcome for r in group), len(group))

    decode = sorted(s for r in results for s in r.decode_s)
    attempts = sum(r.attempts for r in results)
    questions = sum(r.questions for r in results)
    return {
        "engine": recognizer.name,
        "method": "whole clip" if whole_clip else "endpointed as live",
        "snr_db": None if whole_clip else snr,
        "users_per_kind": users,
        "healthy_to_coaching": share("healthy", "coaching"),
        "injured_to_emergency": share("injured", "emergency"),
        "unresponsive_to_emergency": share("unresponsive", "emergency"),
        "mean_attempts": round(attempts / questions, 3) if questions else None,
        "injured_to_coaching": share("injured", "coaching"),
        "outcomes": {k: dict(Counter(r.outcome for r in g)) for k, g in by_kind.items() if g},
        # Why users were sent to the emergency route: a healthy user's "no" heard as
        # "yes", left unclear twice, or heard as a call for help.
        "why_emergency": {
            k: dict(Counter(r.why for r in g if r.outcome == "emergency"))
            for k, g in by_kind.items()
            if g
        },
        "mean_attempts_by_kind": {
            k: round(sum(r.attempts for r in g) / max(1, sum(r.questions for r in g)), 3)
            for k, g in by_kind.items()
            if g
        },
        "answers": len(decode),
        "decode_ms_per_answer_median": round(1000 * statistics.median(decode), 1)
        if decode
        else None,
        "decode_ms_per_answer_p95": round(1000 * decode[int(0.95 * (len(decode) - 1))], 1)
        if decode
        else None,
    }


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "triage",
        help="whole screenings by simulated users answering with real recordings",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        epilog=(
            "figures: healthy_to_coaching, injured_to_emergency, unresponsive_to_emergency\n"
            "(shares of users), mean_attempts (answers given per question asked; 1.0 = every\n"
            "answer understood at once), decode time per answer; why_emergency: per kind,\n"
            "how many users reached the emergency route by a yes, by two unclear answers to\n"
            "one question, or by a call for help heard (a healthy user's are all mistakes).\n\n"
            "examples:\n"
            "  voiceguide bench triage --data ../shared/data/speech_commands_pool/dev\n"
            "  voiceguide bench triage --data DIR --users 20 --seed 3 --json\n"
            "  voiceguide bench triage --data DIR --users 3000 --kind injured   # a rare failure\n"
            "  voiceguide bench triage --data DIR --snr 10      # a TV on in the room"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", type=Path, required=True, metavar="DIR",
                   help="Speech Commands style folder: yes/, no/ and other words")  # fmt: skip
    p.add_argument("--users", type=int, default=100, metavar="N",
                   help="simulated users of each kind (default 100)")  # fmt: skip
    p.add_argument("--kind", action="append", choices=KINDS, dest="kinds", metavar="KIND",
                   help="only this kind of user (healthy, injured, unresponsive; repeat for "
                        "more; default all three): the others report null")  # fmt: skip
    p.add_argument("--snr", type=float, metavar="DB",
                   help="talk in the room, DB under each clip (not with --whole-clip)")  # fmt: skip
    add_options(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if args.users < 1:
        print("voiceguide bench triage: --users must be at least 1", file=sys.stderr)
        return 2
    if args.snr is not None and args.whole_clip:
        print("voiceguide bench triage: --snr needs the live method, not --whole-clip",
              file=sys.stderr)  # fmt: skip
        return 2
    result = run_with_recognizer(
        "triage",
        args,
        lambda recognizer, content: run_bench(
            args.data,
            recognizer,
            content,
            args.users,
            args.seed,
            not args.quiet,
            args.whole_clip,
            tuple(k for k in KINDS if k in args.kinds) if args.kinds else KINDS,
            args.snr,
        ),
    )
    if result is None:
        return 2
    emit(result, args.json)
    return 0
