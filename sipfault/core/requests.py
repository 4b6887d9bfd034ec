"""Requests the UAS sends itself within a dialog, and their client transactions.

Today the BYE that ends a dialog whose 2xx was never acknowledged (RFC 3261 §13.3.1.4);
re-INVITE, UPDATE and INFO are built the same way. :func:`in_dialog_request` builds the
request from the dialog (§12.2.1.1); :class:`ClientRequests` sends it with a non-INVITE client
transaction (``client.py``, §17.1.2) and matches the responses to it (§17.1.3).
"""

from __future__ import annotations

from collections.abc import Callable

from sipfault.core.client import ClientTransaction
from sipfault.core.dialogs import Dialog
from sipfault.core.events import Peer
from sipfault.core.timers import TimerQueue
from sipfault.model.scenario import Timers
from sipfault.sip.errors import SipParseError
from sipfault.sip.message import Request, Response


def in_dialog_request(
    dialog: Dialog, method: str, branch: str, *, user_agent: str | None = None,
    body: bytes = b"", content_type: str | None = None,
) -> Request:
    """A request of ours within ``dialog`` (§12.2.1.1), its CSeq one more than our last.

    The Request-URI is the remote target, the Route set the dialog's (loose routing,
    §16.12.1.1); From and To are the dialog's URIs with the local and remote tags. The Via
    names the transport and address the INVITE arrived on, with ``branch`` (§8.1.1.7) and
    ``rport`` (RFC 3581 §3).
    """
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
    if body and content_type is not None:
        headers.add("Content-Type", content_type)
    headers.add("Content-Length", str(len(body)))
    return request


SendRequest = Callable[[Request, Peer, bool, float], None]
"""How a client transaction hands a request to the UAS: request, peer, re-sent?, now."""


class ClientRequests:
    """Our requests under way, each with its client transaction, found by Via branch.

    ``send`` puts a request on the wire; ``on_no_response`` hears of one that got no final
    response (Timer F). Both are bound once and shared by every transaction.
    """

    __slots__ = ("_by_branch", "_on_no_response", "_queue", "_send")

    def __init__(
        self, queue: TimerQueue, send: SendRequest,
        on_no_response: Callable[[ClientTransaction, float], None],
    ) -> None:
        self._by_branch: dict[str, ClientTransaction] = {}
        self._queue = queue
        self._send = send
        self._on_no_response = on_no_response

    def __len__(self) -> int:
        return len(self._by_branch)

    def start(
        self, request: Request, branch: str, peer: Peer, timers: Timers, now: float
    ) -> ClientTransaction:
        """Send ``request`` (its top Via carries ``branch``) to ``peer`` and keep it sent."""
        client = ClientTransaction(request, branch, peer, timers, self._queue, self._send,
                                   self._done)
        self._by_branch[branch] = client
        client.start(now)
        return client

    def on_response(self, response: Response, now: float) -> bool:
        """A response: hand it to the transaction of its branch; False when none matches."""
        try:
            branch = response.top_via.branch or ""
        except SipParseError:
            return False
        client = self._by_branch.get(branch)
        if client is None:
            return False
        client.on_response(response, now)
        return True

    def _done(self, client: ClientTransaction, response: Response | None, now: float) -> None:
        self._by_branch.pop(client.branch, None)
        if response is None:
            self._on_no_response(client, now)
