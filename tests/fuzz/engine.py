"""The fuzzing loop: mutate, feed, check the contract, bound the time of every input.

:func:`fuzz` runs one target for at most ``iterations`` inputs and ``seconds`` of wall time,
whichever ends first. Every input must finish within ``per_input`` seconds: a SIGALRM interrupts
one that does not (a hang, or quadratic work on a 64 KiB input), and the elapsed time is checked
afterwards too, for work that the alarm could not interrupt.

With ``coverage=True`` the loop is coverage-guided: lines of ``sipfault`` run by each input are
traced (``sys.settrace``), and an input that runs a line no earlier input ran joins the corpus
the mutations draw from, as in AFL or libFuzzer. Tracing costs about five times the speed; the
CI run goes without it, the longer runs of ``python -m tests.fuzz.run`` with it.
"""

from __future__ import annotations

import contextlib
import random
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from tests.fuzz.mutator import Mutator
from tests.fuzz.targets import ContractBroken, Target

PACKAGE = str(Path(__file__).resolve().parents[2] / "sipfault")
"""Lines under this directory count as coverage."""

CORPUS_LIMIT = 4000
"""Inputs the coverage-guided corpus keeps at most (the seeds always stay)."""


class Hang(BaseException):
    """An input ran past its time bound (a BaseException, so that no ``except Exception`` of
    the code under test takes it for an error of the input)."""


@dataclass(frozen=True)
class Failure:
    """One input that broke the contract or ran too long."""

    target: str
    seed: int
    iteration: int
    reason: str
    data: bytes = field(repr=False)

    def save(self, directory: Path) -> Path:
        """Write the input to ``directory`` (for replay: ``python -m tests.fuzz.run --replay``)."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.target}-seed{self.seed}-{self.iteration}.bin"
        path.write_bytes(self.data)
        return path


@dataclass
class Report:
    """What one run of a target did."""

    target: str
    seed: int
    inputs: int = 0
    seconds: float = 0.0
    slowest: float = 0.0
    """The longest time one input took, in seconds."""
    failures: list[Failure] = field(default_factory=list)
    lines: int = 0
    """Lines of sipfault covered (coverage-guided runs only)."""
    corpus: int = 0
    """Size of the corpus at the end (seeds plus inputs that found new lines)."""

    @property
    def rate(self) -> float:
        """Inputs per second."""
        return self.inputs / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        text = (f"{self.target}: {self.inputs} inputs in {self.seconds:.1f} s "
                f"({self.rate:.0f}/s, slowest {self.slowest * 1000:.0f} ms, seed {self.seed})")
        if self.lines:
            text += f", {self.lines} lines covered, corpus {self.corpus}"
        if self.failures:
            text += f", {len(self.failures)} failures"
        return text


@contextlib.contextmanager
def time_bound(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` in this block past ``seconds`` (main thread only; elsewhere the
    caller's elapsed-time check is the only bound)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"ran past {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _LineTracer:
    """Collects (file, line) pairs of sipfault run while it is installed."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, int]] = set()
        self.new = 0

    def __call__(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "call":
            return self._local if frame.f_code.co_filename.startswith(PACKAGE) else None
        return None

    def _local(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            key = (frame.f_code.co_filename, frame.f_lineno)
            if key not in self.seen:
                self.seen.add(key)
                self.new += 1
        return self._local


def fuzz(
    target: Target,
    *,
    iterations: int,
    seconds: float,
    seed: int = 0,
    per_input: float = 2.0,
    coverage: bool = False,
    stop_at_first: bool = False,
) -> Report:
    """Fuzz ``target`` for at most ``iterations`` inputs and ``seconds`` of wall time."""
    rng = random.Random(seed)
    corpus = list(target.seeds)
    mutator = Mutator(rng, target.dictionary, corpus)
    tracer = _LineTracer() if coverage else None
    report = Report(target.name, seed)
    target.reset()
    started = time.perf_counter()
    deadline = started + seconds
    for iteration in range(iterations):
        if time.perf_counter() > deadline:
            break
        # Every seed as it is first, so the corpus itself is checked too.
        if iteration < len(target.seeds):
            data = target.seeds[iteration]
        else:
            data = mutator.mutate(rng.choice(corpus))
        if tracer is not None:
            tracer.new = 0
            sys.settrace(tracer)
        began = time.perf_counter()
        reason = None
        try:
            with time_bound(per_input):
                target.check(data)
        except ContractBroken as broken:
            reason = str(broken)
        except Hang as hang:
            reason = f"hang: {hang}"
            target.reset()
        finally:
            if tracer is not None:
                sys.settrace(None)
        elapsed = time.perf_counter() - began
        report.inputs += 1
        report.slowest = max(report.slowest, elapsed)
        if reason is None and elapsed > per_input:
            reason = f"slow: {elapsed:.2f} s for {len(data)} bytes"
        if reason is not None:
            report.failures.append(Failure(target.name, seed, iteration, reason, data))
            if stop_at_first:
                break
        if tracer is not None and tracer.new and len(corpus) < CORPUS_LIMIT:
            corpus.append(data)
            mutator.corpus.append(data)
    report.seconds = time.perf_counter() - started
    if tracer is not None:
        report.lines = len(tracer.seen)
    report.corpus = len(corpus)
    return report
