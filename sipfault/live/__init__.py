"""The live view of a running endpoint: a web page, server-sent events, metrics, a journal
stream and a small control API, on the endpoint's own event loop (:mod:`sipfault.live.server`).

``sipfault run --http 127.0.0.1:8080`` starts it; in code::

    async with Endpoint("busy.yaml") as endpoint, LiveServer(endpoint, port=8080) as live:
        print(live.url)

docs/report.md describes the page and each route.
"""

from sipfault.live.faults import EndpointFault, EndpointFaultRegistry, FaultConflict, UnknownFault
from sipfault.live.server import LiveServer, RemoteBindRefused, check_bind_address, is_loopback
from sipfault.live.state import LiveState

__all__ = [
    "EndpointFault",
    "EndpointFaultRegistry",
    "FaultConflict",
    "LiveServer",
    "LiveState",
    "RemoteBindRefused",
    "UnknownFault",
    "check_bind_address",
    "is_loopback",
]
