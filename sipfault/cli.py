"""The ``sipfault`` command: run a scenario, validate files, render a run's report.

Exit status: 0 after a clean run or valid files, 2 for a bad scenario file or bad arguments
(``file:line:col: what is wrong``, never a traceback), 1 when the server cannot start, 3 after a
run with ``--fail-on-findings`` in which the client did something wrong (a finding).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import gc
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

from sipfault import workers
from sipfault.catalogue_view import format_detail, format_table, is_sip_code
from sipfault.config import KNOWN_TRANSPORTS, ListenAddress, ServerConfig
from sipfault.core.admission import DEFAULT_SHED_RETRY_AFTER
from sipfault.endpoint import Endpoint, ListenError
from sipfault.fault_view import format_faults, format_findings, is_fault
from sipfault.model.validate import InvalidValue, positive_duration
from sipfault.record.recorder import Recorder
from sipfault.record.records import Record
from sipfault.record.run import BindingState, RunRecord, SummaryRecord
from sipfault.reporting import ConsoleReporter, binding_lines, fax_lines, media_lines
from sipfault.scenario.errors import ScenarioError
from sipfault.scenario.loader import check_scenario_file, load_scenario
from sipfault.stream_options import add_stream_limit_options, stream_limits
from sipfault.transport.tls import CertificateFileError, server_context
from sipfault.version import __version__

RUN_LISTEN = (ListenAddress("127.0.0.1", 5060), ListenAddress("::1", 5060, optional=True))
"""Where ``sipfault run`` listens without ``--listen``: loopback only, IPv4, and IPv6 where the
machine has it."""

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_FINDINGS = 3

DEFAULT_LADDERS = 200
"""Ladders ``sipfault report`` draws without ``--ladders`` (sipfault.report's default)."""

GC_THRESHOLDS = (20_000, 20, 20)
"""Collector thresholds while serving. Answering a call allocates a few hundred containers and
frees them by reference counting (the core leaves no cycles behind), so the default gen-0
threshold of 700 collects every few messages for nothing, and the full collections it leads
to walk every live transaction: under load they stall the loop past T1 and clients retransmit."""


def parse_duration(text: str) -> float:
    """A timer value as a scenario file writes it: ``500ms``, ``1.5s``, ``2m`` or seconds."""
    try:
        return positive_duration(text, "--t1")
    except InvalidValue as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_run_duration(text: str) -> float:
    """``--duration``: ``30s``, ``5m``, ``1.5s`` or seconds."""
    try:
        return positive_duration(text, "--duration")
    except InvalidValue as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_count(text: str) -> int:
    """``--max-transactions``: a whole number, 1 or more."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, not {text!r}")
    return int(text)


def parse_lag(text: str) -> float | None:
    """``--max-loop-lag``: milliseconds (``200``), or a duration (``200ms``, ``0.5s``);
    returned in seconds; ``off`` for None."""
    number = text.strip()
    if number.lower() == "off":
        return None
    try:
        seconds = (float(number) / 1000 if number.replace(".", "", 1).isdigit()
                   else positive_duration(number, "--max-loop-lag"))
    except InvalidValue:
        seconds = 0.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(
            f"bad lag {text!r} (expected milliseconds above 0 such as 200, or a duration "
            "like 200ms or 0.5s)")
    return seconds


def parse_transports(text: str) -> tuple[str, ...]:
    """``udp``, ``tcp``, ``tls`` or a comma-separated list of them."""
    names = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in KNOWN_TRANSPORTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown transport {', '.join(unknown) or text!r} "
            "(expected udp, tcp, tls or a list such as udp,tcp)"
        )
    return names


def parse_listen(text: str) -> ListenAddress:
    """``HOST:PORT``, ``[V6]:PORT`` or ``:PORT`` (on 127.0.0.1)."""
    try:
        return ListenAddress.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_workers(text: str) -> int:
    """``--workers``: a whole number of processes, 1 or more."""
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"{text!r} (expected a number of processes, 1 or more)")
    return count


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = argparse.ArgumentParser(
        prog="sipfault",
        description="A SIP test endpoint and fault injector.",
    )
    parser.add_argument("--version", action="version", version=f"sipfault {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="answer SIP requests as a scenario file says")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument(
        "--listen", action="append", type=parse_listen, metavar="HOST:PORT",
        help="address to listen on, repeatable: HOST:PORT, [IPv6]:PORT, or :PORT for "
        "127.0.0.1 (default 127.0.0.1:5060 and [::1]:5060)",
    )
    run.add_argument(
        "--transport", type=parse_transports, metavar="LIST",
        help="udp, tcp, tls or a list (default: udp,tcp on the same port, and tls on the "
        "next port when --tls-cert is given)",
    )
    run.add_argument("--tls-cert", metavar="FILE.pem",
                     help="certificate chain (PEM) for the tls transport")
    run.add_argument("--tls-key", metavar="FILE.pem",
                     help="private key (PEM) of the certificate, if not in --tls-cert")
    run.add_argument("--force-rport", action="store_true",
                     help="answer UDP requests at their source port even when the Via has no "
                     "rport (clients behind NAT); default: the Via's port, as RFC 3261 says")
    add_stream_limit_options(run)
    run.add_argument("--t1", type=parse_duration, metavar="DURATION",
                     help="RFC 3261 timer T1 (default from the scenario, else 500ms)")
    run.add_argument("--seed", type=int, help="seed for random choices (printed when not given)")
    run.add_argument("--max-transactions", type=parse_count, metavar="N",
                     help="shed load: from N live transactions, new INVITEs and REGISTERs get "
                     "503 with Retry-After until below 90%% of N (each lasts 64*T1 after its "
                     "answer: about 64 per call/s held)")
    run.add_argument("--max-loop-lag", type=parse_lag, metavar="MS",
                     help="shed load: from this event-loop lag (ms), new INVITEs and REGISTERs "
                     "get 503 with Retry-After until it is below half of it (500, T1, keeps "
                     "a server at the edge of its core from collapsing; default off)")
    run.add_argument("--retry-after", type=int, default=DEFAULT_SHED_RETRY_AFTER,
                     metavar="SECONDS", help="Retry-After of the 503s of load shedding "
                     f"(default {DEFAULT_SHED_RETRY_AFTER})")
    run.add_argument("-v", "--verbose", action="store_true", help="print whole messages")
    run.add_argument("-q", "--quiet", action="store_true",
                     help="no line per message; only the start line and the summary")
    run.add_argument("--journal", metavar="FILE.jsonl",
                     help="write every message and event as JSON lines (flushed as it goes)")
    run.add_argument("--pcap", metavar="FILE.pcap",
                     help="write every message to a pcap capture (flushed as it goes)")
    run.add_argument("--duration", type=parse_run_duration, metavar="DURATION",
                     help="stop by itself after this long (30s, 5m), as after Ctrl-C")
    run.add_argument("--fail-on-findings", action="store_true",
                     help=f"exit with status {EXIT_FINDINGS} when the client did something "
                     "wrong (any finding)")
    run.add_argument("--report", metavar="FILE.html",
                     help="write the HTML report of the run (ladders per call) when it ends")
    run.add_argument("--http", type=parse_listen, metavar="HOST:PORT",
                     help="serve the live view (page, /metrics, /journal, control API) here; "
                     "loopback only unless --http-allow-remote")
    run.add_argument("--http-allow-remote", action="store_true",
                     help="let --http listen on an address other machines reach")
    run.add_argument("--workers", type=parse_workers, default=1, metavar="N",
                     help="serve with N processes on the same port (SO_REUSEPORT, Linux): "
                     "one console, one summary, one journal; worker I draws with seed "
                     "SEED+I; registrar bindings are per worker (default 1)")
    run.add_argument("--worker-index", type=int, help=argparse.SUPPRESS)

    report = commands.add_parser("report", help="render a journal as an HTML report")
    report.add_argument("journal", metavar="RUN.jsonl", help="a journal written by --journal")
    report.add_argument("-o", "--output", metavar="FILE.html",
                        help="where to write it (default: the journal's name with .html)")
    report.add_argument("--ladders", type=int, default=DEFAULT_LADDERS, metavar="N",
                        help=f"draw the first N calls' ladders (default {DEFAULT_LADDERS}); "
                        "the index lists every call")
    report.add_argument("--call", action="append", metavar="CALL-ID",
                        help="draw this call's ladder (repeatable) instead of the first N")
    report.add_argument("--title", help="the page's title")

    validate = commands.add_parser("validate", help="check scenario files")
    validate.add_argument("files", nargs="+", metavar="FILE")

    codes = commands.add_parser("codes", help="the response codes and what each must carry")
    codes.add_argument("codes", nargs="*", type=int, metavar="CODE")

    faults = commands.add_parser("faults", help="the faults sipfault can inject")
    faults.add_argument("faults", nargs="*", metavar="NAME")
    commands.add_parser("findings", help="what sipfault reports about a client, and the "
                        "RFC sections")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script and ``python -m sipfault``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "validate":
        return validate_files(args.files, sys.stdout, sys.stderr)
    if args.command == "codes":
        return show_codes(args.codes, sys.stdout, sys.stderr)
    if args.command == "report":
        return render_journal(args, sys.stdout, sys.stderr)
    if args.command == "faults":
        return show_faults(args.faults, sys.stdout, sys.stderr)
    if args.command == "findings":
        print(format_findings(), file=sys.stdout)
        return EXIT_OK
    return run(args, sys.stdout, sys.stderr)


def render_journal(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``sipfault report RUN.jsonl -o report.html``."""
    from sipfault.report import read_journal, write_report  # only this command renders

    output = args.output or str(Path(args.journal).with_suffix(".html"))
    started = time.perf_counter()
    try:
        journal = read_journal(args.journal)
        size = write_report(output, journal.entries, max_ladders=args.ladders, calls=args.call,
                            title=args.title, bad_lines=journal.bad_lines)
    except OSError as exc:
        print(f"sipfault: {exc}", file=err)
        return EXIT_USAGE
    if journal.bad_lines:
        print(f"sipfault: {len(journal.bad_lines)} line(s) of {args.journal} could not be "
              f"read (first: line {journal.bad_lines[0]})", file=err)
    print(f"wrote {output}: {len(journal.entries)} records, {size / 1e6:.1f} MB in "
          f"{time.perf_counter() - started:.1f} s", file=out)
    return EXIT_OK


def show_codes(codes: Sequence[int], out: TextIO, err: TextIO) -> int:
    """The catalogue, or each code in detail; a number that is no SIP code is explained on
    ``err`` and makes the exit status 2."""
    if not codes:
        print(format_table(), file=out)
        return EXIT_OK
    for index, code in enumerate(codes):
        stream = out if is_sip_code(code) else err
        print(("\n" if index else "") + format_detail(code), file=stream)
    return EXIT_OK if all(is_sip_code(code) for code in codes) else EXIT_USAGE


def show_faults(names: Sequence[str], out: TextIO, err: TextIO) -> int:
    """Every fault with its description, or the named ones with their parameters; an unknown
    name is reported on ``err`` and makes the exit status 2."""
    unknown = [name for name in names if not is_fault(name)]
    for name in unknown:
        print(f"sipfault: unknown fault {name!r} (`sipfault faults` lists them)", file=err)
    known = [name for name in names if is_fault(name)]
    if known or not names:
        print(format_faults(known or None), file=out)
    return EXIT_USAGE if unknown else EXIT_OK


def validate_files(files: Sequence[str], out: TextIO, err: TextIO) -> int:
    """Report every issue of every file; exit 2 when any file has an error."""
    failed = False
    for name in files:
        issues = check_scenario_file(name)
        for issue in issues:
            print(issue, file=err)
        errors = [issue for issue in issues if issue.severity == "error"]
        if errors:
            failed = True
        else:
            print(f"{name}: ok", file=out)
    return EXIT_USAGE if failed else EXIT_OK


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Load the scenario, serve until SIGINT or SIGTERM, print the summary."""
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        print(exc, file=err)
        return EXIT_USAGE
    if args.transport is not None and "tls" in args.transport and not args.tls_cert:
        print("sipfault: the tls transport needs --tls-cert (and --tls-key unless the "
              "certificate file holds the key)", file=err)
        return EXIT_USAGE
    tls = None
    if args.tls_cert and (args.transport is None or "tls" in args.transport):
        try:
            tls = server_context(args.tls_cert, args.tls_key)
        except CertificateFileError as exc:
            option = "--tls-key" if args.tls_key and exc.path == args.tls_key else "--tls-cert"
            print(f"sipfault: cannot load the TLS certificate and key: {option} {exc.path}: "
                  f"{exc.problem}", file=err)
            return EXIT_USAGE
    try:
        config = ServerConfig(scenario=scenario, listen=tuple(args.listen or RUN_LISTEN),
                              transports=args.transport, t1=args.t1, seed=args.seed, tls=tls,
                              force_rport=args.force_rport, stream_limits=stream_limits(args),
                              max_transactions=args.max_transactions,
                              max_loop_lag=args.max_loop_lag, retry_after=args.retry_after,
                              reuse_port=args.worker_index is not None)
        server = Endpoint(config=config)
    except ValueError as exc:
        print(f"sipfault: {exc}", file=err)
        return EXIT_USAGE
    if args.http is not None:
        from sipfault.live.server import RemoteBindRefused, check_bind_address

        try:
            check_bind_address(args.http.host, args.http_allow_remote)
        except RemoteBindRefused as exc:
            print(f"sipfault: {exc}", file=err)
            return EXIT_USAGE
    if args.workers > 1:
        return _run_workers(args, config, out, err)
    try:
        recorder = Recorder.open(journal=args.journal, pcap=args.pcap)
    except OSError as exc:
        print(f"sipfault: cannot write the record: {exc}", file=err)
        return EXIT_USAGE
    # The record first: a line on the console means the message is already on disk.
    if recorder.writing:
        server.add_listener(recorder.on_record)
    # Without a journal file the report renders from the records kept in memory.
    kept: list[dict[str, object]] | None = (
        [] if args.report and args.journal is None else None)
    if kept is not None:
        server.add_listener(lambda record: kept.append(record.to_json()))
    reporter = ConsoleReporter(out, verbose=args.verbose, quiet=args.quiet)
    server.add_listener(reporter.on_record)
    framing: list[Callable[[Record | RunRecord | SummaryRecord], None]] = [recorder.on_record]
    if kept is not None:
        framing.append(lambda record: kept.append(record.to_json()))
    summary: SummaryRecord | None = None
    try:
        summary = asyncio.run(_serve(server, reporter, out, args, framing))
    except ListenError as exc:
        print(f"sipfault: {exc}{_listen_hint(exc)}", file=err)
        return EXIT_FAILURE
    except OSError as exc:
        print(f"sipfault: cannot listen: {exc}", file=err)
        return EXIT_FAILURE
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        pass
    finally:
        recorder.close()
        recorder.report_errors(err)
    if args.worker_index is not None and summary is not None:
        workers.report(out, args.worker_index, reporter.counts, server.counts(), summary,
                       {"media": media_lines(reporter.counts),
                        "faxes": fax_lines(reporter.counts), "bindings": binding_lines(server)})
    else:
        reporter.print_summary(server)
    if args.report:
        written = _write_run_report(args, kept, out, err)
        if written != EXIT_OK:
            return written
    if args.fail_on_findings and reporter.counts.findings:
        return EXIT_FINDINGS
    return EXIT_OK


def _listen_hint(error: ListenError) -> str:
    """``; try --listen 127.0.0.1:0`` when the port is taken: the kernel picks a free one."""
    if error.errno != errno.EADDRINUSE:
        return ""
    return f"; try --listen {ListenAddress(error.address.host, 0)}"


def _write_run_report(args: argparse.Namespace, kept: list[dict[str, object]] | None,
                      out: TextIO, err: TextIO) -> int:
    from sipfault.report import read_journal, write_report

    try:
        if kept is None:
            journal = read_journal(args.journal)
            entries, bad = journal.entries, journal.bad_lines
        else:
            entries, bad = kept, []
        write_report(args.report, entries, bad_lines=bad)
    except OSError as exc:
        print(f"sipfault: cannot write the report: {exc}", file=err)
        return EXIT_FAILURE
    print(f"report: {args.report}", file=out, flush=True)
    return EXIT_OK


def _run_record(server: Endpoint, args: argparse.Namespace) -> RunRecord:
    plain = ",".join(name for name in server.transports if name != "tls")
    listen = [f"{plain} {ListenAddress(host, port)}" for host, port in server.bound]
    listen += [f"tls {ListenAddress(host, port)}" for host, port in server.bound_tls]
    scenario = server.scenario
    return RunRecord(server.wall_time(server.now()), scenario.name, server.seed, __version__,
                     scenario_file=os.fspath(args.scenario), description=scenario.description,
                     listen=tuple(listen), t1=scenario.timers.t1)


def _summary_record(server: Endpoint, reporter: ConsoleReporter, started: float) -> SummaryRecord:
    counts = reporter.counts
    now = server.now()
    bindings = [BindingState(aor, binding.uri, binding.remaining(now))
                for aor, registered in sorted(server.bindings().items())
                for binding in registered]
    return SummaryRecord(server.wall_time(now), started, dict(counts.requests),
                         dict(counts.responses), counts.retransmissions_in,
                         counts.retransmissions_out, counts.dropped, dict(counts.findings),
                         bindings)


async def _serve(server: Endpoint, reporter: ConsoleReporter, out: TextIO,
                 args: argparse.Namespace,
                 framing: list[Callable[[Record | RunRecord | SummaryRecord], None]]
                 ) -> SummaryRecord:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if args.duration is not None:
        loop.call_later(args.duration, stop.set)
    async with server, contextlib.AsyncExitStack() as stack:
        if args.http is not None:
            from sipfault.live.faults import endpoint_fault_registry
            from sipfault.live.server import LiveServer

            live = LiveServer(server, args.http.host, args.http.port,
                              allow_remote=args.http_allow_remote,
                              faults=endpoint_fault_registry(server))
            await stack.enter_async_context(live)
            framing.append(live.on_record)
        started = _run_record(server, args)
        for write in framing:
            write(started)
        if args.worker_index is not None:
            workers.announce(out, args.worker_index, _listening(server), started)
            workers.stop_when_parent_goes(loop, stop)
        else:
            print(
                f"sipfault {__version__} listening on {_listening(server)} "
                f"scenario {server.scenario.name} seed {server.seed}",
                file=out, flush=True,
            )
        if args.http is not None:
            print(f"live view on {live.url}", file=out, flush=True)
        with collector_tuned_for_serving():
            await stop.wait()
        summary = _summary_record(server, reporter, started.time)
        for write in framing:
            write(summary)
    reporter.flush()
    return summary


def _run_workers(args: argparse.Namespace, config: ServerConfig, out: TextIO,
                 err: TextIO) -> int:
    """``--workers N``: N processes on the same port (:mod:`sipfault.workers`)."""
    if workers.reuse_port_missing():
        print("sipfault: --workers needs SO_REUSEPORT, which this system lacks", file=err)
        return EXIT_USAGE
    if args.http is not None:
        print("sipfault: --http serves one process; it cannot be used with --workers",
              file=err)
        return EXIT_USAGE
    seed = args.seed if args.seed is not None else config.load_scenario().seed
    outcome = workers.run_workers(args, config.listen, config.active_transports, seed,
                                  out, err)
    if outcome.failure is not None:
        print(f"sipfault: {outcome.failure}", file=err)
        return outcome.status if outcome.status == EXIT_USAGE else EXIT_FAILURE
    if args.report:
        written = _write_run_report(args, outcome.kept, out, err)
        if written != EXIT_OK:
            return written
    if args.fail_on_findings and outcome.findings:
        return EXIT_FINDINGS
    return EXIT_OK


def _listening(server: Endpoint) -> str:
    """``127.0.0.1:5060 (udp, tcp)``, then ``, tls on 127.0.0.1:5061`` with TLS."""
    plain = [name for name in server.transports if name != "tls"]
    parts = []
    if server.bound:
        parts.append(f"{_addresses(server.bound)} ({', '.join(plain)})")
    if server.bound_tls:
        parts.append(f"{_addresses(server.bound_tls)} (tls)" if not parts
                     else f"tls on {_addresses(server.bound_tls)}")
    return ", ".join(parts)


def _addresses(bound: list[tuple[str, int]]) -> str:
    return " ".join(str(ListenAddress(host, port)) for host, port in bound)


@contextlib.contextmanager
def collector_tuned_for_serving() -> Iterator[None]:
    """:data:`GC_THRESHOLDS` while serving, and what exists on entry frozen; undone on exit.

    What exists once the server listens (modules, the scenario, the sockets) lives as long as
    the process: frozen, it is not walked again by every full collection.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
