"""A real exchange with a sipfault server, for the report's tests: its journal entries.

Over UDP on loopback, with T1 = 20 ms so that the timers fire within a few seconds:

- ``drop@test``: INVITE answered 100, then 200 OK with ``fault: drop``: every transmission of
  the 200 is dropped, the 2xx timer retransmits it, no ACK comes, sipfault sends BYE and makes a
  ``no-ack`` finding (then ``no-response`` when the BYE goes unanswered);
- ``busy@test``: INVITE answered 100, 180, 486; the client ACKs only after the 486 came again
  (Timer G);
- ``fax@test``: INVITE with an audio offer answered 200, ACK, a re-INVITE offering T.38
  (``m=image``) answered 200, ACK, BYE;
- ``reg@test``: REGISTER alice for 60 s;
- ``stray@test``: an ACK that matches nothing (a ``stray-ack`` finding).
"""

from __future__ import annotations

import time

from sipfault import Controller
from tests.testing.sip_client import SipClient

AUDIO = (b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         b"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
T38 = (b"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       b"m=image 40002 udptl t38\r\na=T38FaxVersion:0\r\n"
       b"a=T38FaxRateManagement:transferredTCF\r\n")
SDP = (("Content-Type", "application/sdp"),)
T1 = 0.02



def run_exchange() -> list[dict[str, object]]:
    """Run the exchange; return the journal's entries (each record's ``to_json()``)."""
    with Controller(t1=T1, seed=5) as sip:
        sip.on("INVITE", user="drop").reply(
            100, {"code": 200, "sdp": "answer", "fault": "drop"})
        sip.on("INVITE", user="busy").reply(100, 180, 486)
        sip.on("INVITE", user="fax").reply(100, {"code": 200, "sdp": "answer"})
        with SipClient(sip.host, sip.port) as client:
            # The dropped 200: nothing but the 100 arrives.
            invite = client.request("INVITE", "drop", call_id="drop@test", headers=SDP,
                                    body=AUDIO)
            client.send(invite)
            assert client.receive().status == 100
            # The busy call: the 486 comes twice before the ACK.
            busy = client.request("INVITE", "busy", call_id="busy@test")
            client.send(busy)
            replies = client.until_final()
            again = client.receive()
            assert again.status == 486, again
            client.send(client.ack_for(busy, replies[-1]))
            # The fax call: audio, then a re-INVITE to T.38.
            fax = client.request("INVITE", "fax", call_id="fax@test", headers=SDP, body=AUDIO)
            client.send(fax)
            ok = client.until_final()[-1]
            assert ok.status == 200, ok
            to_tag = ok.headers["to"].split("tag=")[1]
            client.send(client.request("ACK", "fax", call_id="fax@test", to_tag=to_tag))
            reinvite = client.request("INVITE", "fax", call_id="fax@test", cseq=2,
                                      to_tag=to_tag, headers=SDP, body=T38)
            client.send(reinvite)
            answer = client.until_final()[-1]
            assert answer.status == 200 and b"m=image" in answer.raw, answer
            client.send(client.request("ACK", "fax", call_id="fax@test", cseq=2,
                                       to_tag=to_tag))
            client.send(client.request("BYE", "fax", call_id="fax@test", cseq=3,
                                       to_tag=to_tag))
            assert client.until_final()[-1].status == 200
            client.send(client.request("REGISTER", "alice", call_id="reg@test",
                                       headers=(("Expires", "60"),)))
            assert client.until_final()[-1].status == 200
            client.send(client.request("ACK", "nobody", call_id="stray@test", to_tag="zz"))
            # Wait for the dropped 200's story to end: no ACK within 64*T1, BYE, no answer.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                kinds = {item.kind for item in sip.unexpected()}
                if {"no-response", "stray-ack"} <= kinds:
                    break
                time.sleep(0.05)
            time.sleep(0.1)
    # Stopped, the controller's journal stays readable.
    return [record.to_json() for record in sip.server.journal.records]
