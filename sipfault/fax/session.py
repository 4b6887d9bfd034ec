"""A fax terminal on UDPTL: datagrams in, datagrams out (ITU-T T.38 §9.1).

:class:`FaxSession` joins a :class:`~sipfault.fax.t30.FaxTerminal` to a UDPTL receiver and
sender. Redundancy protects a packet only if later ones follow it, so the last datagram of
each burst (an end of signal, after which the line is quiet) is sent ``end_repeats`` times,
as T.38 terminals send their indicator and end-of-data packets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sipfault.fax.faults import UdptlFaults
from sipfault.fax.t30 import FaxTerminal
from sipfault.fax.t38 import T38Error, decode_ifp, encode_ifp
from sipfault.fax.udptl import UDPTLReceiver, UDPTLSender


@dataclass
class FaxSession:
    terminal: FaxTerminal
    version: int = 3
    redundancy: int = 3
    max_datagram: int = 400
    end_repeats: int = 3
    faults: UdptlFaults | None = None
    receiver: UDPTLReceiver = field(init=False)
    sender: UDPTLSender = field(init=False)
    malformed_ifp: int = 0

    def __post_init__(self) -> None:
        self.receiver = UDPTLReceiver(version=self.version)
        self.sender = UDPTLSender(redundancy=self.redundancy, max_datagram=self.max_datagram)

    def start(self, now: float) -> None:
        self.terminal.start(now)

    def datagram_received(self, datagram: bytes, now: float) -> None:
        for delivery in self.receiver.receive(datagram):
            if delivery.ifp is None:
                self.terminal.lost(1, now)
                continue
            try:
                packet = decode_ifp(delivery.ifp, self.version)
            except T38Error:
                self.malformed_ifp += 1
                self.terminal.lost(1, now)
                continue
            self.terminal.receive(packet, now)

    def next_deadline(self) -> float | None:
        return self.terminal.next_deadline()

    def handle_timer(self, now: float) -> None:
        self.terminal.handle_timer(now)

    def datagrams_to_send(self) -> list[bytes]:
        out: list[bytes] = []
        packets = self.terminal.take_packets()
        for index, packet in enumerate(packets):
            seq = self.sender.seq
            datagram = self.sender.wrap(encode_ifp(packet, self.version))
            copies = self.end_repeats if index == len(packets) - 1 else 1
            for _ in range(max(copies, 1)):
                out += self.faults.apply(seq, datagram) if self.faults else [datagram]
        return out
