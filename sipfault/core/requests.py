"""Requests the UAS sends itself within a dialog, and their client transactions.

The BYE that ends a dialog whose 2xx was never acknowledged (RFC 3261 §13.3.1.4), and what a
scenario's actions send: a re-INVITE, a BYE, an UPDATE, an INFO. :func:`in_dialog_request`
builds a request from the dialog (§12.2.1.1), :func:`ack_for_failure` the ACK of a 3xx-6xx
(§17.1.1.3); :class:`ClientRequests` sends each with its client transaction (``client.py``,
§17.1.1 and §17.1.2) and matches the responses to it (§17.1.3).
"""

from __future__ import annotations

from collections.abc import Callable

from sipfault.core.client import ClientTransaction, InviteClientTransaction
from sipfault.core.dialogs import Dialog
from sipfault.core.events import Peer
from sipfault.core.timers import TimerQueue
from sipfault.model.scenario import Timers
from sipfault.sip.errors import SipParseError
from sipfault.sip.message import Request, Response


def in_dialog_request(
    dialog: Dialog, method: str, branch: str, *, user_agent: str | None = None,
    body: bytes = b"", content_type: str | None = None, cseq: int | None = None,
    extra: tuple[tuple[str, str], ...] = (),
) -> Request:
    """A request of ours within ``dialog`` (§12.2.1.1), its CSeq one more than our last.

    ``cseq`` keeps a given number instead (the ACK of a 2xx takes its INVITE's, §13.2.2.4);
    ``extra`` adds header fields. The Request-URI is the remote target, the Route set the
    dialog's (loose routing, §16.12.1.1); From and To are the dialog's URIs with the local and
    remote tags. The Via names the transport and address the INVITE arrived on, with
    ``branch`` (§8.1.1.7) and ``rport`` (RFC 3581 §3).
    """
    if cseq is None:
        cseq = dialog.next_local_cseq()
    peer = dialog.peer
    host, port = peer.local
    host_text = f"[{host}]" if ":" in host else host
    target = dialog.remote_target
    if "<" in target:
        target = target[target.index("<") + 1:target.index(">")]
    request = Request(method, target or dialog.remote_uri, body=body)
    headers = request.headers
    headers.add("Via", f"SIP/2.0/{peer.transport.upper()} {host_text}:{port};branch={branch};rport")
    headers.add("Max-Forwards", "70")
    headers.add("From", f"{dialog.local_uri};tag={dialog.local_tag}")
    headers.add("To", dialog.remote_uri)
    headers.add("Call-ID", dialog.call_id)
    headers.add("CSeq", f"{cseq} {method}")
    for route in dialog.route_set:
        headers.add("Route", route)
    if user_agent:
        headers.add("User-Agent", user_agent)
    for name, value in extra:
        headers.add(name, value)
    if body and content_type is not None:
        headers.add("Content-Type", content_type)
    headers.add("Content-Length", str(len(body)))
    return request


def ack_for_failure(invite: Request, response: Response) -> Request:
    """The ACK of a 3xx-6xx to our INVITE (§17.1.1.3): the INVITE's Request-URI, top Via,
    From, Call-ID, CSeq number and Route; the response's To (with its tag)."""
    ack = Request("ACK", invite.uri)
    headers = ack.headers
    headers.add("Via", invite.headers.lines("Via")[0])
    headers.add("Max-Forwards", "70")
    headers.add("From", invite.headers.get("From") or "")
    headers.add("To", response.headers.get("To") or "")
    headers.add("Call-ID", invite.call_id)
    headers.add("CSeq", f"{invite.cseq[0]} ACK")
    for route in invite.headers.values("Route"):
        headers.add("Route", route)
    headers.add("Content-Length", "0")
    return ack


SendRequest = Callable[[Request, Peer, bool, float], None]
"""How a client transaction hands a request to the UAS: request, peer, re-sent?, now."""


class ClientRequests:
    """Our requests under way, each with its client transaction, found by Via branch.

    ``send`` puts a request on the wire; ``on_no_response`` hears of one that got no final
    response (Timer F). Both are bound once and shared by every transaction.
    """

    __slots__ = ("_by_branch", "_finals", "_on_no_response", "_queue", "_send")

    def __init__(
        self, queue: TimerQueue, send: SendRequest,
        on_no_response: Callable[[ClientTransaction, float], None],
    ) -> None:
        self._by_branch: dict[str, ClientTransaction | InviteClientTransaction] = {}
        self._finals: dict[str, Callable[[ClientTransaction, Response | None, float], None]] = {}
        self._queue = queue
        self._send = send
        self._on_no_response = on_no_response

    def __len__(self) -> int:
        return len(self._by_branch)

    def start(
        self, request: Request, branch: str, peer: Peer, timers: Timers, now: float,
        on_final: Callable[[ClientTransaction, Response | None, float], None] | None = None,
    ) -> ClientTransaction:
        """Send ``request`` (its top Via carries ``branch``) to ``peer`` and keep it sent.

        ``on_final`` hears of its final response, or of None when none came (Timer F).
        """
        client = ClientTransaction(request, branch, peer, timers, self._queue, self._send,
                                   self._done)
        self._by_branch[branch] = client
        if on_final is not None:
            self._finals[branch] = on_final
        client.start(now)
        return client

    def start_invite(
        self, request: Request, branch: str, peer: Peer, timers: Timers, now: float,
        on_final: Callable[[InviteClientTransaction, Response | None, bool, float], None],
    ) -> InviteClientTransaction:
        """Send an INVITE with its client transaction (§17.1.1); ``on_final`` hears of each
        final response (a retransmitted 2xx flagged as such) and of None for Timer B."""
        client = InviteClientTransaction(request, branch, peer, timers, self._queue,
                                         self._send, ack_for_failure, on_final,
                                         self._invite_done)
        self._by_branch[branch] = client
        client.start(now)
        return client

    def on_response(self, response: Response, now: float) -> bool:
        """A response: hand it to the transaction of its branch; False when none matches."""
        try:
            branch = response.top_via.branch or ""
            method = response.cseq[1]
        except SipParseError:
            return False
        client = self._by_branch.get(branch)
        if client is None or method != client.request.method:
            return False  # §17.1.3: the branch and the CSeq method must both match
        client.on_response(response, now)
        return True

    def _done(self, client: ClientTransaction, response: Response | None, now: float) -> None:
        self._by_branch.pop(client.branch, None)
        on_final = self._finals.pop(client.branch, None)
        if on_final is not None:
            on_final(client, response, now)
        if response is None:
            self._on_no_response(client, now)

    def _invite_done(self, client: InviteClientTransaction, now: float) -> None:
        del now
        self._by_branch.pop(client.branch, None)
