"""Every code of the catalogue, dialled over a real socket, with every field it must carry.

A request to ``sip:486@host`` on the dial-a-code scenario comes back 486; the test parses the
response and checks the code, the reason phrase, the To-tag rule (RFC 3261 §8.2.6.2) and that
every MUST field of the catalogue is there and well-formed.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable

import pytest

from sipfault.endpoint import Endpoint
from sipfault.sip.address import parse_address
from sipfault.sip.codes import CATALOGUE, required_headers
from sipfault.sip.digest import parse_auth_params
from sipfault.sip.headers import split_list
from sipfault.sip.message import Response
from sipfault.sip.parser import parse_message

TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
METHODS = {
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "OPTIONS",
    "REGISTER",
    "PRACK",
    "UPDATE",
    "INFO",
    "MESSAGE",
    "SUBSCRIBE",
    "NOTIFY",
    "REFER",
    "PUBLISH",
}


def _tokens(value: str) -> bool:
    items = split_list(value)
    return bool(items) and all(TOKEN.fullmatch(item) for item in items)


def _challenge(value: str) -> bool:
    scheme, params = parse_auth_params(value)
    return (
        scheme.lower() == "digest"
        and bool(params.get("realm"))
        and bool(params.get("nonce"))
        and "auth" in params.get("qop", "").split(",")
    )


def _contact(value: str) -> bool:
    return all(parse_address(item).uri.is_sip for item in split_list(value))


def _error_code(value: str) -> bool:
    return re.fullmatch(r'\d{3}(;\s*\w+=("[^"]*"|\S+))*', value) is not None


WELL_FORMED: dict[str, Callable[[str], bool]] = {
    "Allow": lambda v: bool(split_list(v)) and set(split_list(v)) <= METHODS,
    "WWW-Authenticate": _challenge,
    "Proxy-Authenticate": _challenge,
    "Contact": _contact,
    "Unsupported": _tokens,
    "Require": _tokens,
    "Allow-Events": _tokens,
    "Min-Expires": str.isdigit,
    "Min-SE": str.isdigit,
    "Expires": str.isdigit,
    "Accept": lambda v: all(re.fullmatch(r"[\w.+-]+/[\w.+*-]+", i) for i in split_list(v)),
    "Geolocation-Error": _error_code,
    "AlertMsg-Error": _error_code,
    "Recv-Info": lambda v: v == "" or _tokens(v),
    "Security-Server": lambda v: TOKEN.match(v) is not None,
}

DIAL_A_CODE = """
name: dial-a-code
rules:
  - match: {method: INVITE}
    dial_a_code: {ring: 0ms, answer_after: 0ms}
"""


class Client(asyncio.DatagramProtocol):
    """A UDP client that queues every response it gets."""

    def __init__(self) -> None:
        self.responses: asyncio.Queue[Response] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        message = parse_message(data)
        if isinstance(message, Response):
            self.responses.put_nowait(message)


@pytest.fixture
async def dialled(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Callable[[int], asyncio.Future[list[Response]]]]:
    path = tmp_path_factory.mktemp("codes") / "dial.yaml"
    path.write_text(DIAL_A_CODE)
    async with Endpoint(path, listen="127.0.0.1:0", transports=["udp"]) as server:
        loop = asyncio.get_running_loop()
        transport, client = await loop.create_datagram_endpoint(Client, local_addr=("127.0.0.1", 0))
        port = transport.get_extra_info("sockname")[1]

        async def dial(code: int) -> list[Response]:
            invite = (
                f"INVITE sip:{code}@127.0.0.1:{server.port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-{code};rport\r\n"
                "Max-Forwards: 70\r\n"
                f"From: <sip:tester@127.0.0.1>;tag=t{code}\r\n"
                f"To: <sip:{code}@127.0.0.1>\r\n"
                f"Call-ID: code-{code}\r\nCSeq: 1 INVITE\r\n"
                f"Contact: <sip:tester@127.0.0.1:{port}>\r\nContent-Length: 0\r\n\r\n"
            )
            transport.sendto(invite.encode(), ("127.0.0.1", server.port))
            got: list[Response] = []
            while not got or got[-1].status != code:
                got.append(await asyncio.wait_for(client.responses.get(), timeout=5))
            return got

        yield dial  # type: ignore[misc]
        transport.close()


@pytest.mark.parametrize("code", sorted(CATALOGUE))
async def test_dialled_code_carries_what_it_must(
    code: int, dialled: Callable[[int], asyncio.Future[list[Response]]]
) -> None:
    responses = await dialled(code)
    info = CATALOGUE[code]
    response = responses[-1]
    assert response.status == code
    assert response.reason == info.reason
    assert (response.to.tag is not None) == info.needs_to_tag
    assert response.cseq == (1, "INVITE")
    for name in required_headers(code, "INVITE"):
        values = response.headers.lines(name)
        assert values, f"{code} lacks {name}"
        check = WELL_FORMED.get(name, lambda v: bool(v.strip()))
        assert all(check(value) for value in values), f"{code} has a malformed {name}: {values}"
    if 200 <= code < 300:
        assert response.content_type == "application/sdp"
