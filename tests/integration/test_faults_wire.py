"""Every fault proven on the wire: a raw-socket client asserts the bytes (and their timing) that
a running sipfault sends under it, over UDP, TCP and TLS.

The server runs in-process on its own thread (``sipfault.testing.Controller``) with T1 = 100 ms;
the faults are written in scenario YAML and through the Python API alike.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sipfault.api.journal import MessageRecord
from sipfault.model.faults import FAULTS
from sipfault.scenario import load_scenario_text
from sipfault.testing import Controller
from sipfault.transport.tls import server_context
from tests.integration.raw_sip import OFFER, Arrival, RawClient

T1 = 0.1
_TLS_FILES = Path(__file__).resolve().parents[1] / "tls"
TLS = server_context(str(_TLS_FILES / "cert.pem"), str(_TLS_FILES / "key.pem"))


@contextlib.contextmanager
def serving(text: str | None = None, **options: Any) -> Iterator[Controller]:
    """sipfault answering with the scenario ``text`` (or no rules), T1 = 100 ms."""
    scenario = load_scenario_text(text) if text else None
    options = {"t1": T1, **options}
    with Controller(scenario, **options) as server:
        yield server


def _step(fault: str, **params: object) -> str:
    extra = "".join(f", {key}: {value}" for key, value in params.items())
    return f"""
rules:
  - match: {{method: OPTIONS}}
    reply: [{{code: 200, fault: {fault}{extra}}}]
"""


def _options_answer(fault: str, transport: str = "udp", **params: object) -> list[Arrival]:
    with serving(_step(fault, **params)) as server, \
            RawClient(server.host, server.port, transport) as client:
        second_via = "Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKsecond"
        client.send(client.request("OPTIONS", extra=second_via if fault == "via-reversed" else ""))
        return client.collect(0.5, until=1)


def _head(arrival: Arrival) -> bytes:
    return arrival.data.split(b"\r\n\r\n", 1)[0]


BYTES: dict[str, Callable[[bytes], bool]] = {
    "malformed-status": lambda data: data.startswith(b"SIP/2.0 200 OK\r\n"),
    "no-content-length": lambda data: b"Content-Length" not in data,
    "wrong-content-length": lambda data: b"Content-Length: 10\r\n" in data,
    "short-content-length": lambda data: b"Content-Length: 0\r\n" in data,
    "no-to-tag": lambda data: b";tag=" not in data.split(b"\r\nTo: ", 1)[1].split(b"\r\n")[0],
    "wrong-call-id": lambda data: b".wrong\r\n" in data.split(b"\r\nCall-ID: ", 1)[1][:80],
    "wrong-cseq-number": lambda data: b"\r\nCSeq: 2 OPTIONS\r\n" in data,
    "wrong-cseq-method": lambda data: b"\r\nCSeq: 1 INFO\r\n" in data,
    "wrong-via-branch": lambda data: b"-wrong" in data.split(b"\r\nVia: ", 1)[1].split(b"\r\n")[0],
    "no-via": lambda data: b"\r\nVia:" not in data,
    "via-reversed": lambda data: data.index(b"Via: SIP/2.0/UDP 192.0.2.9") < data.index(
        b"Via: SIP/2.0/UDP 127.0.0.1"),
    "bad-sip-version": lambda data: data.startswith(b"SIP/3.0 200 OK\r\n"),
    "empty-reason": lambda data: data.startswith(b"SIP/2.0 200 \r\n"),
    "header-without-colon": lambda data: b"\r\nX-Broken-Header this line has no colon\r\n" in data,
    "two-to": lambda data: data.count(b"\r\nTo: ") == 2,
    "two-call-id": lambda data: data.count(b"\r\nCall-ID: ") == 2,
    "non-utf8-header": lambda data: b"\xff\xfe" in data,
    "over-mtu": lambda data: 4096 < len(data) < 8192,
    "max-size": lambda data: len(data) == 65507,
    "compact-form": lambda data: b"\r\nv: SIP/2.0/UDP" in data and b"\r\ni: " in data
    and b"\r\nl: 0\r\n" in data,
    "line-folded": lambda data: b"\r\nCall-ID:\r\n   " in data,
    "truncate": lambda data: not data.endswith(b"\r\n\r\n"),
    "bare-lf": lambda data: b"\r" not in data and data.startswith(b"SIP/2.0 200 OK\n"),
}


def test_every_byte_fault_has_a_wire_test() -> None:
    from sipfault.core.faults import BYTE_FAULTS

    assert set(BYTES) == set(BYTE_FAULTS)


@pytest.mark.parametrize("fault", sorted(BYTES))
def test_a_malformed_response_goes_out_as_named(fault: str) -> None:
    (arrival,) = _options_answer(fault)
    assert BYTES[fault](arrival.data), arrival.data[:400]


def test_no_content_length_over_tcp_leaves_the_stream_unframed() -> None:
    with serving(_step("no-content-length")) as server, \
            RawClient(server.host, server.port, "tcp") as client:
        client.send(client.request("OPTIONS"))
        data = client.stream_bytes(0.5)
    assert data.startswith(b"SIP/2.0 200 OK\r\n") and b"Content-Length" not in data


def test_malformed_status_sends_a_code_outside_the_range() -> None:
    with serving() as server, RawClient(server.host, server.port) as client:
        server.on("OPTIONS").reply({"code": 701, "fault": "malformed-status"})
        client.send(client.request("OPTIONS"))
        (arrival,) = client.collect(0.5, until=1)
    assert arrival.data.startswith(b"SIP/2.0 701 ")


# ----------------------------------------------------------------- timing and loss


def test_drop_with_a_count_makes_the_client_wait_for_timer_g() -> None:
    with serving() as server, RawClient(server.host, server.port) as client:
        server.on("INVITE").reply((486, {}, {"fault": "drop", "count": 2}))
        sent = time.monotonic()
        client.send(client.request("INVITE"))
        (first, *_) = client.collect(1.0, until=1)
    # Lost at 0 and at T1; Timer G's second re-send, at 3*T1, gets through.
    assert first.status == 486
    assert 2.5 * T1 <= first.at - sent < 6 * T1


def test_drop_first_loses_only_the_first_transmission() -> None:
    with serving() as server, RawClient(server.host, server.port) as client:
        server.on("INVITE").reply(486, fault="drop-first")
        sent = time.monotonic()
        client.send(client.request("INVITE"))
        (first, *_) = client.collect(1.0, until=1)
    assert first.status == 486 and 0.8 * T1 <= first.at - sent < 2.5 * T1


def test_drop_without_a_count_never_answers_and_holds_nothing_against_the_client() -> None:
    with serving() as server, RawClient(server.host, server.port) as client:
        server.on("OPTIONS").reply(200, fault="drop")
        request = client.request("OPTIONS")
        client.send(request)
        time.sleep(T1)
        client.send(request)  # the client retransmits as it should
        assert client.collect(0.6) == []
        assert server.findings() == []


def test_a_fixed_and_a_random_delay() -> None:
    with serving() as server, RawClient(server.host, server.port) as client:
        server.on("OPTIONS", user="fixed").reply({"code": 200, "fault": "delay", "by": "300ms"})
        server.on("OPTIONS").reply({"code": 200, "fault": "delay", "min": "100ms",
                                    "max": "200ms"})
        sent = time.monotonic()
        client.send(client.request("OPTIONS", "fixed"))
        (fixed,) = client.collect(1.0, until=1)
        sent_random = time.monotonic()
        client.send(client.request("OPTIONS", "random"))
        (drawn,) = client.collect(1.0, until=1)
    assert 0.28 <= fixed.at - sent < 0.6
    assert 0.09 <= drawn.at - sent_random < 0.5


def test_duplicate_with_a_count() -> None:
    arrivals = []
    with serving(_step("duplicate", count=3)) as server, \
            RawClient(server.host, server.port) as client:
        client.send(client.request("OPTIONS"))
        arrivals = client.collect(0.4)
    assert len(arrivals) == 3 and len({a.data for a in arrivals}) == 1


def test_no_retransmit_sends_a_final_response_once_without_ack() -> None:
    with serving() as server, RawClient(server.host, server.port) as client:
        server.on("INVITE").reply(486, fault="no-retransmit")
        client.send(client.request("INVITE"))
        arrivals = client.collect(1.0)
    assert [a.status for a in arrivals] == [486]  # Timer G would have re-sent it at 100 ms


def test_without_the_fault_timer_g_does_resend() -> None:
    with serving() as server, RawClient(server.host, server.port) as client:
        server.on("INVITE").reply(486)
        client.send(client.request("INVITE"))
        assert len(client.collect(0.5)) >= 2


def test_swallow_answers_nothing_not_even_100_trying() -> None:
    with serving("""
rules:
  - match: {method: INVITE}
    faults: [swallow]
    reply: [{code: 180, after: 50ms}, {code: 200, sdp: answer}]
""") as server, RawClient(server.host, server.port) as client:
        invite = client.request("INVITE", body=OFFER)
        client.send(invite)
        time.sleep(T1)
        client.send(invite)
        assert client.collect(0.5) == []


def test_reorder_sends_the_later_provisional_first() -> None:
    with serving("""
rules:
  - match: {method: INVITE}
    reply: [100, {code: 180, fault: reorder}, 183, {code: 486, after: 100ms}]
""") as server, RawClient(server.host, server.port) as client:
        client.send(client.request("INVITE"))
        arrivals = client.collect(1.0, until=4)
    assert [a.status for a in arrivals] == [100, 183, 180, 486]


def test_late_100_arrives_after_the_final_response() -> None:
    with serving() as server, RawClient(server.host, server.port) as client:
        server.on("INVITE").reply((180, {}, {"after": "50ms"}), (486, {}, {"after": "50ms"}),
                                  fault="late-100")
        client.send(client.request("INVITE"))
        arrivals = client.collect(1.0, until=3)
    assert [a.status for a in arrivals] == [180, 486, 100]


# ----------------------------------------------------------------- forked answers


def test_to_tag_changed_between_the_180_and_the_200() -> None:
    with serving() as server, RawClient(server.host, server.port) as client:
        server.on("INVITE").reply(180, {"code": 200, "sdp": "answer",
                                        "fault": "to-tag-changed"})
        client.send(client.request("INVITE", body=OFFER, call_id="tt@x"))
        ringing, ok = client.collect(1.0, until=2)
        assert ringing.to_tag and ok.to_tag and ringing.to_tag != ok.to_tag
        client.send(client.request("ACK", call_id="tt@x", to_tag=ok.to_tag))
        assert client.collect(0.4) == []  # the ACK for the 200's tag ends its retransmission
        assert server.findings() == []


def test_two_200s_from_two_forks_each_acked_and_the_extra_one_ended() -> None:
    with serving() as server, RawClient(server.host, server.port) as client:
        server.on("INVITE").reply({"code": 200, "sdp": "answer", "fault": "fork"})
        client.send(client.request("INVITE", body=OFFER, call_id="fork@x"))
        first, second = client.collect(1.0, until=2)
        assert (first.status, second.status) == (200, 200)
        assert first.to_tag != second.to_tag
        for tag in (first.to_tag, second.to_tag):
            client.send(client.request("ACK", call_id="fork@x", to_tag=tag))
        client.send(client.request("BYE", call_id="fork@x", to_tag=second.to_tag, cseq=2))
        (bye_ok,) = client.collect(0.5, until=1)
        assert bye_ok.status == 200 and bye_ok.to_tag == second.to_tag
        assert server.findings() == []


def test_two_180s_then_a_200() -> None:
    with serving() as server, RawClient(server.host, server.port) as client:
        server.on("INVITE").reply({"code": 180, "fault": "fork"},
                                  {"code": 200, "sdp": "answer", "after": "50ms"})
        client.send(client.request("INVITE", body=OFFER))
        arrivals = client.collect(1.0, until=3)
    assert [a.status for a in arrivals] == [180, 180, 200]
    assert len({a.to_tag for a in arrivals}) == 2
    assert arrivals[2].to_tag == arrivals[0].to_tag


# -------------------------------------------------------------------------- raw


def test_raw_bytes_with_placeholders_from_the_request() -> None:
    with serving(r"""
rules:
  - match: {method: OPTIONS}
    reply:
      - code: 200
        fault: raw
        bytes: "SIP/2.0 299 Whatever\n{via}\nFrom: {from}\nTo: {to};tag={to_tag}\n\
          Call-ID: {call_id}\nCSeq: {cseq}\nX-Raw: \xfe\nContent-Length: 0\n\n"
""") as server, RawClient(server.host, server.port) as client:
        client.send(client.request("OPTIONS", call_id="raw-test@x"))
        (arrival,) = client.collect(0.5, until=1)
    data = arrival.data
    assert data.startswith(b"SIP/2.0 299 Whatever\r\nVia: SIP/2.0/UDP 127.0.0.1:")
    assert b"\r\nFrom: <sip:raw@127.0.0.1>;tag=raw1\r\n" in data
    assert b"\r\nCall-ID: raw-test@x\r\nCSeq: 1 OPTIONS\r\nX-Raw: \xfe\r\n" in data
    assert data.endswith(b"Content-Length: 0\r\n\r\n")


# ------------------------------------------------------------------- TCP and TLS


def _stream(fault: str, transport: str = "tcp") -> tuple[bytes, RawClient, Exception | None]:
    with serving(_step(fault), tls=TLS) as server:
        port = server.tls_port if transport == "tls" else server.port
        client = RawClient(server.host, port, transport)
        client.send(client.request("OPTIONS"))
        error: Exception | None = None
        data = b""
        try:
            data = client.stream_bytes(0.5)
        except (ConnectionResetError, OSError) as exc:
            error = exc
        client.sock.close()
        return data, client, error


@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_close_before_the_response(transport: str) -> None:
    data, client, error = _stream("close-before", transport)
    assert data == b"" and (client.eof or error is not None)


@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_close_right_after_the_response(transport: str) -> None:
    data, client, error = _stream("close-after", transport)
    assert data.startswith(b"SIP/2.0 200 OK\r\n") and data.endswith(b"\r\n\r\n")
    assert client.eof and error is None


def test_close_mid_message() -> None:
    data, client, _ = _stream("close-mid")
    assert data.startswith(b"SIP/2.0 200") and not data.endswith(b"\r\n\r\n")
    assert client.eof


def test_reset_the_connection_over_tcp() -> None:
    data, _, error = _stream("reset", "tcp")
    assert data == b"" and isinstance(error, ConnectionResetError)


def test_reset_the_connection_over_tls_ends_it_without_close_notify() -> None:
    with serving(_step("reset"), tls=TLS) as server, \
            RawClient(server.host, server.tls_port, "tls") as client:
        client.send(client.request("OPTIONS"))
        assert client.stream_bytes(0.5) == b"" and client.eof
        time.sleep(0.05)
        with pytest.raises(OSError):  # no TLS close_notify came: an abrupt end (RST)
            client.sock.send(b"\r\n\r\n")


def test_reset_is_an_rst_not_a_fin() -> None:
    with serving(_step("reset")) as server:
        sock = socket.create_connection((server.host, server.port))
        local = sock.getsockname()
        data = (f"OPTIONS sip:bob@{server.host}:{server.port};transport=tcp SIP/2.0\r\n"
                f"Via: SIP/2.0/TCP {local[0]}:{local[1]};branch=z9hG4bKrst\r\n"
                "Max-Forwards: 70\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:bob@h>\r\n"
                "Call-ID: rst@x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()
        sock.sendall(data)
        sock.settimeout(2)
        with pytest.raises(ConnectionResetError):
            sock.recv(4096)
        sock.close()


def test_stop_reading_keeps_the_connection_open_and_unanswered() -> None:
    with serving(_step("stop-reading")) as server, \
            RawClient(server.host, server.port, "tcp") as client:
        client.send(client.request("OPTIONS"))
        first = client.stream_bytes(0.4)
        assert first.startswith(b"SIP/2.0 200 OK")
        client.send(client.request("OPTIONS", "again"))
        assert client.stream_bytes(0.4) == b"" and not client.eof  # open, never read


def test_stream_faults_do_nothing_over_udp() -> None:
    (arrival,) = _options_answer("reset")
    assert arrival.status == 200


# ------------------------------------------------------------------ the endpoint


def test_outage_from_the_scenario_then_over() -> None:
    with serving("""
endpoint_faults: [{fault: outage, after: 300ms, for: 600ms}]
rules: []
""") as server, RawClient(server.host, server.port) as client:
        started = time.monotonic()  # a little after the endpoint started
        client.send(client.request("OPTIONS"))
        assert [a.status for a in client.collect(0.2, until=1)] == [200]
        time.sleep(max(0.0, started + 0.45 - time.monotonic()))
        client.send(client.request("OPTIONS"))
        assert client.collect(0.2) == []
        time.sleep(max(0.0, started + 1.0 - time.monotonic()))
        client.send(client.request("OPTIONS"))
        assert [a.status for a in client.collect(0.3, until=1)] == [200]
        assert server.server.endpoint_faults == {}


def test_overload_and_slow_set_and_cleared_from_the_python_api() -> None:
    with serving() as server, RawClient(server.host, server.port) as client:
        server.endpoint_fault("overload", retry_after=90)
        client.send(client.request("OPTIONS"))
        (busy,) = client.collect(0.5, until=1)
        assert busy.status == 503 and busy.header("Retry-After") == "90"
        server.clear_endpoint_fault("overload")
        server.endpoint_fault("slow", by="300ms")
        sent = time.monotonic()
        client.send(client.request("OPTIONS"))
        (slow,) = client.collect(1.0, until=1)
        assert slow.status == 200 and slow.at - sent >= 0.28
        server.clear_endpoint_fault()
        client.send(client.request("OPTIONS"))
        (quick,) = client.collect(0.5, until=1)
        assert quick.status == 200
        # The overload 503 was asked for; the raw client did not wait as Retry-After asked.
        assert [f.kind for f in server.findings()] == ["retry-after-ignored"]
        server.check(allow=["retry-after-ignored"])


def test_an_outage_for_a_duration_ends_by_itself() -> None:
    with serving() as server, RawClient(server.host, server.port) as client:
        server.endpoint_fault("outage", duration="200ms")
        client.send(client.request("OPTIONS"))
        assert client.collect(0.15) == []
        time.sleep(0.1)
        client.send(client.request("OPTIONS"))
        assert [a.status for a in client.collect(0.5, until=1)] == [200]
        records = [r for r in server.server.journal.records if not isinstance(r, MessageRecord)]
        changes = [r for r in records if getattr(r, "type", "") == "endpoint_fault_changed"]
        assert [r.to_json()["active"] for r in changes] == [True, False]


def test_every_fault_is_proven_here() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    for name in FAULTS:
        assert f'"{name}"' in source or f"fault: {name}" in source or f"[{name}]" in source, name
