"""Live media ports: the port an answer names has a socket behind it, which counts the RTP and
UDPTL sent to it, echoes when asked, and closes with the stream; the journal has the counts.

A SIP client and a media sender on plain loopback sockets; waits poll the journal with a
deadline, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import TypeVar

from sipfault import Server
from sipfault.fax.udptl import UDPTLPacket, encode_udptl
from sipfault.record.records import FindingRecord, MediaRecord, OutcomeRecord
from sipfault.scenario.loader import load_scenario_text
from sipfault.sip.sdp import parse_sdp
from tests.testing.sip_client import SipClient

T = TypeVar("T")

OFFER = (
    "v=0\r\no=printer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
)
T38_OFFER = (
    "v=0\r\no=printer 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=image {port} udptl t38\r\na=T38FaxVersion:0\r\na=T38MaxBitRate:14400\r\n"
    "a=T38FaxRateManagement:transferredTCF\r\n"
)


def rtp(sequence: int, ssrc: int = 0x1234, payload_type: int = 0) -> bytes:
    """An RTP packet (RFC 3550 §5.1) with 160 octets of payload (20 ms of G.711)."""
    header = bytes((0x80, payload_type)) + sequence.to_bytes(2, "big")
    header += (sequence * 160).to_bytes(4, "big") + ssrc.to_bytes(4, "big")
    return header + b"\xff" * 160


async def until(condition: Callable[[], T], timeout: float = 5.0) -> T:
    """Poll ``condition`` until it is truthy; fail after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.01)


class Call:
    """An answered call from a plain socket, and a media socket beside it."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.sip = SipClient(server.host, server.port)
        self.media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.media.bind(("127.0.0.1", 0))
        self.media.settimeout(5.0)
        self.media_port = self.media.getsockname()[1]
        self.call_id = f"media-{self.media_port}@test"
        self.tag = ""
        self.cseq = 1

    async def invite(self, body: str) -> tuple[int, bytes]:
        """Send an INVITE (or a re-INVITE once answered); the final status and its SDP."""
        request = self.sip.request("INVITE", "fax", call_id=self.call_id, cseq=self.cseq,
                                   to_tag=self.tag or None,
                                   headers=(("Content-Type", "application/sdp"),),
                                   body=body.format(port=self.media_port).encode())
        self.sip.send(request)
        replies = await asyncio.to_thread(self.sip.until_final)
        final = replies[-1]
        self.tag = self.tag or final.headers["to"].split("tag=")[1]
        self.sip.send(self.sip.ack_for(request, final))
        self.cseq += 1
        return final.status, final.raw.split(b"\r\n\r\n", 1)[1]

    async def bye(self) -> int:
        self.sip.send(self.sip.request("BYE", "fax", call_id=self.call_id, cseq=self.cseq,
                                       to_tag=self.tag))
        self.cseq += 1
        return (await asyncio.to_thread(self.sip.until_final))[-1].status

    def close(self) -> None:
        self.sip.close()
        self.media.close()


def media_records(server: Server, event: str) -> list[MediaRecord]:
    return [record for record in server.journal.records
            if isinstance(record, MediaRecord) and record.event == event]


ANSWER = "rules:\n  - match: {method: INVITE}\n    reply: [{code: 200, sdp: answer}]\n"


async def test_the_answer_names_a_port_that_counts_rtp_and_closes_with_the_dialog() -> None:
    async with Server(load_scenario_text(ANSWER)) as server:
        call = Call(server)
        try:
            status, body = await call.invite(OFFER)
            assert status == 200
            (audio,) = parse_sdp(body).media
            port = audio.port
            assert server.media.port_of(1) == port and port % 2 == 0
            for sequence in (1, 2, 3, 5, 6):  # 4 is lost
                call.media.sendto(rtp(sequence), ("127.0.0.1", port))
            flowing = await until(lambda: media_records(server, "flowing"))
            assert (flowing[0].kind, flowing[0].remote) == (
                "rtp", ("127.0.0.1", call.media_port))
            await until(lambda: (server.media.totals(1) or None) and
                        server.media.totals(1).packets == 5)  # type: ignore[union-attr]
            assert await call.bye() == 200
            (stopped,) = await until(lambda: media_records(server, "stop"))
        finally:
            call.close()
        totals = stopped.totals
        assert totals is not None
        assert (totals.packets, totals.rtp, totals.udptl, totals.lost) == (5, 5, 0, 1)
        assert totals.bytes == 5 * 172 and totals.payload_types == (0,) and totals.ssrcs == 1
        assert stopped.reason == "dialog ended"
        assert len(server.media) == 0 and server.media.idle == 1  # kept for a later call
        server.media.trim()
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", port))  # nothing holds the port any more
        probe.close()
        (started,) = media_records(server, "start")
        assert started.local == ("127.0.0.1", port)
        assert started.remote == ("127.0.0.1", call.media_port)
        server.check()


async def test_udptl_after_the_switch_and_audio_that_keeps_flowing() -> None:
    scenario = load_scenario_text(ANSWER + "media: {audio_after_t38: 200ms}\n")
    async with Server(scenario) as server:
        call = Call(server)
        try:
            _, body = await call.invite(OFFER)
            port = parse_sdp(body).media[0].port
            call.media.sendto(rtp(1), ("127.0.0.1", port))
            await until(lambda: media_records(server, "flowing"))
            status, body = await call.invite(T38_OFFER)
            (image,) = parse_sdp(body).media
            assert (status, image.media, image.port) == (200, "image", port)  # same socket
            for seq in range(3):
                packet = encode_udptl(UDPTLPacket(seq, b"\x00\x01", (b"\x00\x00",) if seq else ()))
                call.media.sendto(packet, ("127.0.0.1", port))
            await until(lambda: [r for r in media_records(server, "flowing") if r.kind == "udptl"])
            await asyncio.sleep(0.3)  # past the grace after the switch
            call.media.sendto(rtp(2), ("127.0.0.1", port))
            finding = await until(lambda: [r for r in server.journal.records
                                           if isinstance(r, FindingRecord)
                                           and r.kind == "audio-after-t38"])
            assert "after the switch to T.38" in finding[0].text
            await call.bye()
            stops = await until(lambda: len(media_records(server, "stop")) == 2
                                and media_records(server, "stop"))
        finally:
            call.close()
        audio, fax = stops
        assert (audio.media, audio.reason, audio.totals.rtp) == ("audio", "now image", 1)  # type: ignore[union-attr]
        assert fax.totals is not None
        assert (fax.media, fax.totals.udptl, fax.totals.rtp, fax.totals.lost) == ("image", 3, 1, 0)


async def test_echo_sends_each_packet_back() -> None:
    async with Server(load_scenario_text(ANSWER + "media: {echo: true}\n")) as server:
        call = Call(server)
        try:
            _, body = await call.invite(OFFER)
            port = parse_sdp(body).media[0].port
            call.media.sendto(rtp(7), ("127.0.0.1", port))
            data, source = await asyncio.to_thread(call.media.recvfrom, 2048)
            assert data == rtp(7) and source == ("127.0.0.1", port)
            await call.bye()
            (stopped,) = await until(lambda: media_records(server, "stop"))
        finally:
            call.close()
        assert stopped.totals is not None and stopped.totals.echoed == 1


async def test_a_pinned_port_range_and_a_stop_with_open_streams() -> None:
    scenario = load_scenario_text(ANSWER + "media: {ports: 47100-47111}\n")
    server = Server(scenario)
    async with server:
        call = Call(server)
        try:
            _, body = await call.invite(OFFER)
        finally:
            call.close()
        port = parse_sdp(body).media[0].port
        assert 47100 <= port <= 47111 and port % 2 == 0
    (stopped,) = media_records(server, "stop")  # the endpoint stopped: journaled
    assert stopped.reason == "stopped"
    assert len(server.media) == 0


async def test_sipfault_sends_the_t38_reinvite_and_the_journal_says_how_it_was_answered() -> None:
    scenario = load_scenario_text("""
timers: {t1: 100ms}
rules:
  - match: {method: INVITE}
    reply: [{code: 200, sdp: answer}]
    then: [{after: 100ms, send: reinvite, sdp: t38}]
""")
    async with Server(scenario) as server:
        call = Call(server)
        try:
            await call.invite(OFFER)
            data = await asyncio.to_thread(call.sip.sock.recv, 65535)
            assert data.startswith(b"INVITE ")
            head, _, sdp_body = data.partition(b"\r\n\r\n")
            assert b"m=image " in sdp_body
            lines = head.decode().split("\r\n")

            def field(name: str) -> str:
                return next(line.split(":", 1)[1].strip() for line in lines
                            if line.lower().startswith(name.lower() + ":"))

            refusal = "\r\n".join([
                "SIP/2.0 488 Not Acceptable Here",
                *(f"Via: {line.split(':', 1)[1].strip()}" for line in lines
                  if line.lower().startswith("via:")),
                f"From: {field('From')}", f"To: {field('To')}", f"Call-ID: {field('Call-ID')}",
                f"CSeq: {field('CSeq')}", "Content-Length: 0", "", "",
            ]).encode()
            call.sip.send(refusal)
            ack = await asyncio.to_thread(call.sip.sock.recv, 65535)
            assert ack.startswith(b"ACK ")
            outcome = await until(lambda: [r for r in server.journal.records
                                           if isinstance(r, OutcomeRecord)])
        finally:
            call.close()
        assert (outcome[0].method, outcome[0].purpose, outcome[0].status) == ("INVITE", "t38", 488)
        assert outcome[0].line().startswith("   our re-INVITE (t38) was answered 488")
