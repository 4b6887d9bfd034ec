"""``sipfault run --workers N``: N processes serving one port, one console, one summary.

The parent resolves the listening addresses to concrete ports (port 0 becomes a free one, since
every worker must bind the same), then starts N plain ``sipfault run`` processes with
``--worker-index I``; each sets ``SO_REUSEPORT`` on its UDP, TCP and TLS sockets, and Linux
spreads the load: a UDP flow (source and destination address and port) always hashes to the
same worker, so a client's retransmissions, ACK and CANCEL meet the transaction they belong to;
each TCP or TLS connection is accepted by one worker.

A worker prints its console lines on its standard output, which the parent reads and prints
after ``w0``, ``w1``... Two lines of that output are for the parent (:data:`WORKER_MARK` and a
JSON object): one when the worker listens (its seed and addresses), one when it stops (its
counts, see :meth:`sipfault.reporting.MessageCounts.totals`). The parent prints one listening
line once every worker listens and, when it stops, one summary of all the workers' counts in
the single-process format, plus one ``worker wI: pid=... seed=... calls=... requests=...
responses=...`` line each (calls: INVITEs received, first transmissions).

Seeds: with ``--seed S`` (or a scenario ``seed``), worker I draws with seed ``S + I``
(:func:`worker_seed`), so a worker's draws are repeated by one process run with that seed;
without either, each worker picks its own random seed and the listening line prints them.

State is per worker: a worker's transactions, dialogs and registrar bindings live in its own
process. A device registering over UDP from one source port always reaches the same worker, so
it sees its own bindings; a request from another source port or connection may reach a worker
that does not hold them.

SIGINT or SIGTERM to the parent (or ``--duration``) stops every worker with SIGTERM and waits
for its summary; a worker that exits by itself is reported, the others are stopped and the run
fails. A worker whose parent is gone stops when its standard input closes.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, astuple, dataclass, fields
from pathlib import Path
from types import FrameType
from typing import IO, Any, TextIO

from sipfault.config import ListenAddress
from sipfault.core.counts import LiveCounts
from sipfault.record.merge import merge_journals, merge_pcaps
from sipfault.record.run import BindingState, RunRecord, SummaryRecord
from sipfault.reporting import MessageCounts, count_lines

__all__ = ["WORKER_MARK", "WorkersOutcome", "announce", "report", "run_workers",
           "stop_when_parent_goes", "worker_seed"]

WORKER_MARK = "\x1esipfault-worker "
"""Start of a line a worker writes for the parent (then a JSON object), never for the user."""

START_TIMEOUT = 60.0
"""Seconds every worker has to start listening."""

STOP_TIMEOUT = 15.0
"""Seconds a worker has to stop and report after SIGTERM before it is killed."""

_PORT_ATTEMPTS = 20
_MISSING_ADDRESS = (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT)


def reuse_port_missing() -> bool:
    """Whether this system lacks ``SO_REUSEPORT`` (``--workers`` needs it)."""
    return not hasattr(socket, "SO_REUSEPORT")


def worker_seed(seed: int | None, index: int) -> int | None:
    """Worker ``index``'s seed: ``seed + index``; None (each picks its own) without one."""
    return None if seed is None else seed + index


# --------------------------------------------------------------------------- in a worker

def _send(out: TextIO, message: Mapping[str, object]) -> None:
    print(WORKER_MARK + json.dumps(message, separators=(",", ":")), file=out, flush=True)


def announce(out: TextIO, index: int, listening: str, run: RunRecord) -> None:
    """Tell the parent that worker ``index`` listens (``listening``: where, as the console
    says it) with the seed in ``run``."""
    _send(out, {"event": "listening", "worker": index, "pid": os.getpid(),
                "listening": listening, "run": run.to_json()})


def report(out: TextIO, index: int, counts: MessageCounts, live: LiveCounts,
           summary: SummaryRecord, lines: Mapping[str, Sequence[str]]) -> None:
    """Send the parent worker ``index``'s counts, live table sizes, summary record and the
    summary lines that are not counts (``media``, ``faxes`` and ``bindings``)."""
    _send(out, {"event": "summary", "worker": index, "counts": counts.totals(),
                "live": asdict(live), "summary": summary.to_json(),
                "lines": {name: list(items) for name, items in lines.items()}})


def stop_when_parent_goes(loop: Any, stop: Any) -> None:
    """Call ``stop.set()`` on the running ``loop`` when standard input (the parent's pipe)
    reaches its end: a worker outlives no parent."""
    fd = sys.stdin.fileno()

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
            stop.set()

    loop.add_reader(fd, readable)


# --------------------------------------------------------------------------- in the parent

@dataclass
class Worker:
    """One worker process as the parent sees it."""

    index: int
    process: subprocess.Popen[str]
    journal: Path | None
    pcap: Path | None
    listening: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    ended: bool = False
    """Its output reached its end."""

    @property
    def name(self) -> str:
        return f"w{self.index}"


@dataclass
class WorkersOutcome:
    """How a run of workers ended, for the command line's exit status."""

    failure: str | None = None
    """What went wrong (a worker that died or did not start), or None."""
    status: int = 0
    """A failed worker's exit status when it was a usage error (2), else 0."""
    findings: int = 0
    """Findings of every worker."""
    kept: list[dict[str, object]] | None = None
    """The merged journal's records when a report is wanted without a journal file."""


def concrete_listen(listen: Sequence[ListenAddress], transports: Sequence[str]
                    ) -> tuple[ListenAddress, ...]:
    """``listen`` with port 0 replaced by one port free for every transport on every such
    address (and, with TLS beside UDP or TCP, the next port free too), as one process would
    bind them; raise OSError when none is found."""
    if all(address.port for address in listen):
        return tuple(listen)
    for _ in range(_PORT_ATTEMPTS):
        port = _free_port(listen, transports)
        if port is not None:
            return tuple(ListenAddress(address.host, address.port or port, address.optional)
                         for address in listen)
    raise OSError(errno.EADDRINUSE, "no port free for every worker's transports")


def _free_port(listen: Sequence[ListenAddress], transports: Sequence[str]) -> int | None:
    """A port every port-0 address can bind with ``transports``, or None after a clash."""
    shared = tuple(transports) != ("tls",)
    kinds = [kind for kind in ("udp", "tcp") if kind in transports] if shared else ["tcp"]
    with contextlib.ExitStack() as held:
        port = 0
        for address in (item for item in listen if not item.port):
            family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
            wanted = [(kind, 0) for kind in kinds]
            if shared and "tls" in transports:
                wanted.append(("tcp", 1))
            for kind, offset in wanted:
                sock = held.enter_context(socket.socket(
                    family, socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM))
                try:
                    sock.bind((address.host, port + offset if port else 0))
                except OSError as exc:
                    if address.optional and exc.errno in _MISSING_ADDRESS:
                        break
                    if exc.errno == errno.EADDRINUSE:
                        return None
                    raise
                port = port or sock.getsockname()[1]
        return port or None


def worker_argv(args: argparse.Namespace, index: int, listen: Sequence[ListenAddress],
                seed: int | None, journal: Path | None, pcap: Path | None) -> list[str]:
    """The command line of worker ``index``: ``sipfault run`` with the parent's options, the
    concrete addresses, its seed and its own journal and pcap."""
    argv = [sys.executable, "-m", "sipfault", "run", os.fspath(args.scenario),
            "--worker-index", str(index)]
    for address in listen:
        argv += ["--listen", str(address)]
    if args.transport is not None:
        argv += ["--transport", ",".join(args.transport)]
    if args.tls_cert:
        argv += ["--tls-cert", args.tls_cert]
    if args.tls_key:
        argv += ["--tls-key", args.tls_key]
    if args.t1 is not None:
        argv += ["--t1", repr(args.t1)]
    if seed is not None:
        argv += ["--seed", str(seed)]
    if journal is not None:
        argv += ["--journal", os.fspath(journal)]
    if pcap is not None:
        argv += ["--pcap", os.fspath(pcap)]
    argv += [flag for flag, wanted in (("--force-rport", args.force_rport),
                                       ("--verbose", args.verbose), ("--quiet", args.quiet))
             if wanted]
    return argv


class _Supervisor:
    """Starts the workers, relays their output, stops them, gathers their summaries."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err
        self.workers: list[Worker] = []
        self.lines: queue.Queue[tuple[int, str | None]] = queue.Queue()
        self.stop_asked = threading.Event()

    def start(self, argvs: Sequence[list[str]], journals: Sequence[Path | None],
              pcaps: Sequence[Path | None]) -> None:
        for index, argv in enumerate(argvs):
            # A process group of its own: Ctrl-C at a terminal reaches the parent only,
            # which stops the workers itself once they all listen, in order.
            process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       text=True, encoding="utf-8", errors="replace",
                                       process_group=0)
            self.workers.append(Worker(index, process, journals[index], pcaps[index]))
            assert process.stdout is not None
            threading.Thread(target=self._pump, args=(index, process.stdout),
                             name=f"sipfault-w{index}", daemon=True).start()

    def _pump(self, index: int, stream: IO[str]) -> None:
        with contextlib.suppress(OSError, ValueError):
            for line in stream:
                self.lines.put((index, line.rstrip("\n")))
        self.lines.put((index, None))

    def handle(self, timeout: float) -> None:
        """Take one line of a worker's output (waiting up to ``timeout``) and act on it."""
        try:
            index, line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return
        worker = self.workers[index]
        if line is None:
            worker.ended = True
        elif line.startswith(WORKER_MARK):
            message = json.loads(line[len(WORKER_MARK):])
            if message.get("event") == "listening":
                worker.listening = message
            elif message.get("event") == "summary":
                worker.summary = message
        else:
            print(f"{worker.name} {line}", file=self.out, flush=True)

    def died(self) -> Worker | None:
        """A worker whose output ended before it was asked to stop."""
        return next((worker for worker in self.workers if worker.ended), None)

    def signal_all(self) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    worker.process.send_signal(signal.SIGTERM)

    def wait_ended(self, deadline: float) -> None:
        """Relay output until every worker's output ends or ``deadline`` passes."""
        while not all(worker.ended for worker in self.workers):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.handle(min(remaining, 0.2))

    def reap(self) -> None:
        """Wait for every process (killing one that does not stop) and close its pipes."""
        deadline = time.monotonic() + STOP_TIMEOUT
        for worker in self.workers:
            process = worker.process
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"sipfault: worker {worker.name} (pid {process.pid}) did not stop; "
                      "killed", file=self.err)
                process.kill()
                process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` instead of raising; the former handlers are restored."""
    def asked(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {signum: signal.signal(signum, asked) for signum in (signal.SIGINT,
                                                                    signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _part(path: str | None, index: int, scratch: Path, suffix: str) -> Path:
    """Where worker ``index`` writes its part of ``path`` (beside it, ``.wI``)."""
    if path is None:
        return scratch / f"journal{suffix}.w{index}"
    return Path(f"{path}.w{index}")


def run_workers(args: argparse.Namespace, listen: Sequence[ListenAddress],
                transports: Sequence[str], seed: int | None, out: TextIO,
                err: TextIO) -> WorkersOutcome:
    """Serve with ``args.workers`` processes on ``listen`` until a signal or
    ``args.duration``; print one listening line, the workers' console and one summary."""
    count = int(args.workers)
    try:
        concrete = concrete_listen(listen, transports)
    except OSError as exc:
        return WorkersOutcome(failure=f"cannot listen: {exc}")
    with tempfile.TemporaryDirectory(prefix="sipfault-workers-") as scratch:
        wants_journal = args.journal is not None or args.report is not None
        journals = [_part(args.journal, index, Path(scratch), ".jsonl") if wants_journal
                    else None for index in range(count)]
        pcaps = [_part(args.pcap, index, Path(scratch), ".pcap") if args.pcap else None
                 for index in range(count)]
        argvs = [worker_argv(args, index, concrete, worker_seed(seed, index), journals[index],
                             pcaps[index]) for index in range(count)]
        supervisor = _Supervisor(out, err)
        # Signals only ask to stop, until the end: a second Ctrl-C cannot cut a merge short.
        with _stop_on_signals(supervisor.stop_asked):
            outcome = _supervise(supervisor, args, argvs, journals, pcaps)
            supervisor.reap()
            for worker in supervisor.workers:
                status = worker.process.returncode
                stopped = status == -signal.SIGTERM and supervisor.stop_asked.is_set()
                if outcome.failure is None and status and not stopped:
                    outcome.failure = f"worker {worker.name} exited with status {status}"
            _finish(supervisor, args, seed, outcome, out, err)
    return outcome


def _supervise(supervisor: _Supervisor, args: argparse.Namespace, argvs: Sequence[list[str]],
               journals: Sequence[Path | None], pcaps: Sequence[Path | None]
               ) -> WorkersOutcome:
    outcome = WorkersOutcome()
    supervisor.start(argvs, journals, pcaps)
    workers = supervisor.workers
    deadline = time.monotonic() + START_TIMEOUT
    while not all(worker.listening for worker in workers):
        dead = supervisor.died()
        if dead is not None or supervisor.stop_asked.is_set() or time.monotonic() > deadline:
            if dead is not None:
                status = dead.process.wait()
                outcome.failure = f"worker {dead.name} exited with status {status}"
                outcome.status = status
            elif not supervisor.stop_asked.is_set():
                outcome.failure = f"the workers did not listen within {START_TIMEOUT:g} s"
            supervisor.signal_all()
            supervisor.wait_ended(time.monotonic() + STOP_TIMEOUT)
            return outcome
        supervisor.handle(0.2)
    _print_listening(supervisor)
    stop_at = None if args.duration is None else time.monotonic() + args.duration
    while not supervisor.stop_asked.is_set():
        if stop_at is not None and time.monotonic() >= stop_at:
            break
        dead = supervisor.died()
        if dead is not None:
            status = dead.process.wait()
            outcome.failure = (f"worker {dead.name} (pid {dead.process.pid}) stopped "
                               f"unexpectedly with status {status}")
            break
        supervisor.handle(0.2)
    supervisor.signal_all()
    supervisor.wait_ended(time.monotonic() + STOP_TIMEOUT)
    return outcome


def _seeds(workers: Sequence[Worker]) -> str:
    return " ".join(f"{worker.name}={worker.listening['run']['seed']}"
                    for worker in workers if worker.listening)


def _print_listening(supervisor: _Supervisor) -> None:
    """``sipfault 0.1.0 listening on 127.0.0.1:5060 (udp, tcp) scenario answer workers 2:
    w0 pid=4100 seed=7, w1 pid=4101 seed=8``."""
    first = supervisor.workers[0].listening
    assert first is not None
    run = first["run"]
    each = ", ".join(f"{worker.name} pid={worker.process.pid} "
                     f"seed={worker.listening['run']['seed']}"
                     for worker in supervisor.workers if worker.listening)
    print(f"sipfault {run['version']} listening on {first['listening']} scenario "
          f"{run['scenario']} workers {len(supervisor.workers)}: {each}",
          file=supervisor.out, flush=True)


def _finish(supervisor: _Supervisor, args: argparse.Namespace, seed: int | None,
            outcome: WorkersOutcome, out: TextIO, err: TextIO) -> None:
    """Merge the journals and pcaps, print the summary of every worker that reported."""
    workers = supervisor.workers
    reported = [worker for worker in workers if worker.summary is not None]
    counts = MessageCounts()
    live = [0] * len(fields(LiveCounts))
    extra: dict[str, list[str]] = {"media": [], "faxes": [], "bindings": []}
    for worker in reported:
        assert worker.summary is not None
        counts.add(worker.summary["counts"])
        sizes = astuple(LiveCounts(**worker.summary["live"]))
        live = [total + size for total, size in zip(live, sizes, strict=True)]
        for name, items in extra.items():
            items += worker.summary["lines"][name]
        outcome.findings += sum(worker.summary["counts"]["findings"].values())
    listening = [worker.listening for worker in workers if worker.listening]
    if listening:
        _merge_records(workers, args, listening, counts, outcome, err)
    if not reported:
        return
    first = listening[0]["run"] if listening else {}
    seed_text = f"seed {seed}, " if seed is not None else ""
    lines = [f"summary: scenario {first.get('scenario')}, {seed_text}workers "
             f"{len(workers)} (seeds {_seeds(workers)})", *count_lines(counts),
             *extra["media"], f"live: {LiveCounts(*live).line()}", *extra["faxes"],
             *extra["bindings"]]
    for worker in reported:
        assert worker.summary is not None and worker.listening is not None
        done = worker.summary["counts"]
        lines.append(f"worker {worker.name}: pid={worker.process.pid} "
                     f"seed={worker.listening['run']['seed']} "
                     f"calls={done['requests'].get('INVITE', 0)} "
                     f"requests={sum(done['requests'].values())} "
                     f"responses={sum(done['responses'].values())}")
    for worker in workers:
        if worker.summary is None:
            lines.append(f"worker {worker.name}: pid={worker.process.pid} did not report")
    print("\n".join(lines), file=out, flush=True)


def _merge_records(workers: Sequence[Worker], args: argparse.Namespace,
                   listening: Sequence[dict[str, Any]], counts: MessageCounts,
                   outcome: WorkersOutcome, err: TextIO) -> None:
    """One journal (a ``run`` record listing the workers, every worker's records in time
    order, one ``summary`` of them all) and one pcap; the parts are removed."""
    parts = [worker.journal for worker in workers
             if worker.journal is not None and worker.journal.exists()]
    if parts:
        run = dict(listening[0]["run"])
        run["time"] = min(item["run"]["time"] for item in listening)
        run["seed"] = args.seed if args.seed is not None else run["seed"]
        run["workers"] = [{"worker": worker.index, "pid": worker.process.pid,
                           "seed": worker.listening["run"]["seed"]}
                          for worker in workers if worker.listening is not None]
        summaries = [worker.summary["summary"] for worker in workers
                     if worker.summary is not None]
        bindings = [BindingState(item["aor"], item["contact"], item["expires_in"])
                    for summary in summaries for item in summary["bindings"]]
        stopped = max((summary["time"] for summary in summaries), default=time.time())
        summary = SummaryRecord(stopped, run["time"], dict(counts.requests),
                                dict(counts.responses), counts.retransmissions_in,
                                counts.retransmissions_out, counts.dropped,
                                dict(counts.findings), bindings).to_json()
        destination = (Path(args.journal) if args.journal is not None
                       else parts[0].with_name("journal.jsonl"))
        try:
            merge_journals(parts, destination, first=run, last=summary,
                           keep=lambda record: record.get("type") not in ("run", "summary"))
            if args.journal is None:
                with open(destination, encoding="utf-8") as stream:
                    outcome.kept = [json.loads(line) for line in stream]
            for part in parts:
                part.unlink()
        except OSError as exc:
            print(f"sipfault: cannot merge the journals: {exc}", file=err)
    pcaps = [worker.pcap for worker in workers
             if worker.pcap is not None and worker.pcap.exists()]
    if pcaps and args.pcap is not None:
        try:
            merge_pcaps(pcaps, args.pcap)
            for part in pcaps:
                part.unlink()
        except OSError as exc:
            print(f"sipfault: cannot merge the pcaps: {exc}", file=err)
