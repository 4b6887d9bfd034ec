"""spandsp (libspandsp2, 0.0.6) through ctypes: the far T.38 terminal of the fax tests.

Only the calls the tests need: a T.38 terminal (``t38_terminal_init``) fed IFP packets with
``t38_core_rx_ifp_packet`` and clocked with ``t38_terminal_send_timeout`` in 8 kHz samples,
its T.30 engine's files, capabilities and phase E result; and a bare T.38 core whose
handlers report what it decoded from our packets.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

LIBRARY_NAMES = ("libspandsp.so.2", "libspandsp.so")
SAMPLE_RATE = 8000

T38_TERMINAL_OPTION_NO_PACING = 0x01
T30_SUPPORT_T4_1D_COMPRESSION = 0x02
T30_SUPPORT_T4_2D_COMPRESSION = 0x04
T30_SUPPORT_T6_COMPRESSION = 0x08
T30_SUPPORT_V27TER = 0x01
T30_SUPPORT_V29 = 0x02
T30_SUPPORT_V17 = 0x04
SPAN_LOG_FLOW = 5
SPAN_LOG_SHOW_PROTOCOL = 0x0800
SPAN_LOG_SHOW_TAG = 0x2000

COMPRESSIONS = {
    "MH": T30_SUPPORT_T4_1D_COMPRESSION,
    "MR": T30_SUPPORT_T4_2D_COMPRESSION,
    "MMR": T30_SUPPORT_T6_COMPRESSION,
}
MODEMS = {9600: T30_SUPPORT_V27TER | T30_SUPPORT_V29,
          14400: T30_SUPPORT_V27TER | T30_SUPPORT_V29 | T30_SUPPORT_V17}


class t30_stats_t(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int) for name in (
        "bit_rate", "error_correcting_mode", "pages_tx", "pages_rx", "pages_in_file",
        "x_resolution", "y_resolution", "width", "length", "image_size", "encoding",
        "bad_rows", "longest_bad_row_run", "error_correcting_mode_retries", "current_status")]


TX_PACKET_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                     ctypes.POINTER(ctypes.c_uint8), ctypes.c_int, ctypes.c_int)
PHASE_E_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int)
MESSAGE_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p)
RX_INDICATOR_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                        ctypes.c_int)
RX_DATA_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int,
                                   ctypes.c_int, ctypes.POINTER(ctypes.c_uint8), ctypes.c_int)
RX_MISSING_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                      ctypes.c_int, ctypes.c_int)

_library: ctypes.CDLL | None = None


def load() -> ctypes.CDLL | None:
    """The library with its prototypes declared, or None where it is not installed."""
    global _library
    if _library is not None:
        return _library
    candidates = [*LIBRARY_NAMES, ctypes.util.find_library("spandsp")]
    for name in candidates:
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        _declare(lib)
        _library = lib
        return lib
    return None


def require() -> ctypes.CDLL:
    """The library, or skip (a failure under CI=true, where it must be installed)."""
    lib = load()
    if lib is None:
        message = "libspandsp2 is not installed (apt-get install libspandsp2)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return lib


def _declare(lib: ctypes.CDLL) -> None:
    vp, c_int = ctypes.c_void_p, ctypes.c_int
    signatures: dict[str, tuple[object, list[object]]] = {
        "t38_terminal_init": (vp, [vp, c_int, TX_PACKET_HANDLER, vp]),
        "t38_terminal_free": (c_int, [vp]),
        "t38_terminal_send_timeout": (c_int, [vp, c_int]),
        "t38_terminal_set_config": (None, [vp, c_int]),
        "t38_terminal_get_t30_state": (vp, [vp]),
        "t38_terminal_get_t38_core_state": (vp, [vp]),
        "t38_terminal_get_logging_state": (vp, [vp]),
        "t38_core_rx_ifp_packet": (c_int, [vp, ctypes.c_char_p, c_int, ctypes.c_uint16]),
        "t38_core_init": (vp, [vp, RX_INDICATOR_HANDLER, RX_DATA_HANDLER, RX_MISSING_HANDLER,
                               vp, TX_PACKET_HANDLER, vp]),
        "t38_core_free": (c_int, [vp]),
        "t38_core_get_logging_state": (vp, [vp]),
        "t38_set_t38_version": (None, [vp, c_int]),
        "t38_core_send_indicator": (c_int, [vp, c_int]),
        "t38_core_send_data": (c_int, [vp, c_int, c_int, ctypes.c_char_p, c_int, c_int]),
        "t30_set_tx_file": (None, [vp, ctypes.c_char_p, c_int, c_int]),
        "t30_set_rx_file": (None, [vp, ctypes.c_char_p, c_int]),
        "t30_set_tx_ident": (c_int, [vp, ctypes.c_char_p]),
        "t30_set_ecm_capability": (c_int, [vp, c_int]),
        "t30_set_supported_compressions": (c_int, [vp, c_int]),
        "t30_set_supported_modems": (c_int, [vp, c_int]),
        "t30_set_phase_e_handler": (None, [vp, PHASE_E_HANDLER, vp]),
        "t30_get_transfer_statistics": (None, [vp, ctypes.POINTER(t30_stats_t)]),
        "t30_get_logging_state": (vp, [vp]),
        "t30_get_rx_ident": (ctypes.c_char_p, [vp]),
        "t30_completion_code_to_str": (ctypes.c_char_p, [c_int]),
        "span_log_set_level": (c_int, [vp, c_int]),
        "span_log_set_message_handler": (None, [vp, MESSAGE_HANDLER]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes


@dataclass
class Stats:
    bit_rate: int
    ecm: bool
    pages_tx: int
    pages_rx: int
    width: int
    length: int
    encoding: int
    bad_rows: int
    ecm_retries: int
    status: int


@dataclass
class T38Terminal:
    """spandsp's T.38 terminal: ``feed`` it our IFP packets, ``advance`` its clock."""

    calling: bool
    tx_file: Path | None = None
    rx_file: Path | None = None
    ecm: bool = True
    compressions: tuple[str, ...] = ("MH", "MR", "MMR")
    max_rate: int = 14400
    pacing: bool = True
    ident: str = "spandsp"
    log: bool = False
    version: int = 0
    """T.38 version of both ends (spandsp's own default is 0)."""
    sent: list[bytes] = field(default_factory=list)
    """IFP packets spandsp has sent and the test has not taken yet."""
    phase_e: int | None = None
    messages: list[str] = field(default_factory=list)
    rx_seq: int = 0

    def __post_init__(self) -> None:
        self.lib = require()
        self._keep = [TX_PACKET_HANDLER(self._on_tx), PHASE_E_HANDLER(self._on_phase_e),
                      MESSAGE_HANDLER(self._on_message)]
        self.state = self.lib.t38_terminal_init(None, int(self.calling), self._keep[0], None)
        assert self.state, "t38_terminal_init failed"
        if not self.pacing:
            self.lib.t38_terminal_set_config(self.state, T38_TERMINAL_OPTION_NO_PACING)
        self.t30 = self.lib.t38_terminal_get_t30_state(self.state)
        self.core = self.lib.t38_terminal_get_t38_core_state(self.state)
        self.lib.t38_set_t38_version(self.core, self.version)
        if self.log:
            level = SPAN_LOG_FLOW | SPAN_LOG_SHOW_PROTOCOL | SPAN_LOG_SHOW_TAG
            for logging in (self.lib.t30_get_logging_state(self.t30),
                            self.lib.t38_core_get_logging_state(self.core),
                            self.lib.t38_terminal_get_logging_state(self.state)):
                self.lib.span_log_set_level(logging, level)
                self.lib.span_log_set_message_handler(logging, self._keep[2])
        self.lib.t30_set_tx_ident(self.t30, self.ident.encode())
        self.lib.t30_set_ecm_capability(self.t30, int(self.ecm))
        mask = 0
        for name in self.compressions:
            mask |= COMPRESSIONS[name]
        self.lib.t30_set_supported_compressions(self.t30, mask)
        self.lib.t30_set_supported_modems(self.t30, MODEMS[self.max_rate])
        self.lib.t30_set_phase_e_handler(self.t30, self._keep[1], None)
        if self.tx_file is not None:
            self.lib.t30_set_tx_file(self.t30, str(self.tx_file).encode(), -1, -1)
        if self.rx_file is not None:
            self.lib.t30_set_rx_file(self.t30, str(self.rx_file).encode(), -1)

    def _on_tx(self, core: int | None, user: int | None, buf: object, length: int,
               count: int) -> int:
        del core, user, count
        self.sent.append(ctypes.string_at(buf, length))  # type: ignore[call-overload]
        return 0

    def _on_phase_e(self, t30: int | None, user: int | None, code: int) -> None:
        del t30, user
        self.phase_e = code

    def _on_message(self, level: int, text: bytes) -> None:
        del level
        self.messages.append(text.decode(errors="replace").rstrip())

    def feed(self, ifp: bytes, seq: int | None = None) -> int:
        if seq is not None:
            self.rx_seq = seq
        result = int(self.lib.t38_core_rx_ifp_packet(self.core, ifp, len(ifp), self.rx_seq))
        self.rx_seq = (self.rx_seq + 1) & 0xFFFF
        return result

    def advance(self, samples: int) -> None:
        self.lib.t38_terminal_send_timeout(self.state, samples)

    def take(self) -> list[bytes]:
        sent, self.sent = self.sent, []
        return sent

    def stats(self) -> Stats:
        raw = t30_stats_t()
        self.lib.t30_get_transfer_statistics(self.t30, ctypes.byref(raw))
        return Stats(raw.bit_rate, bool(raw.error_correcting_mode), raw.pages_tx, raw.pages_rx,
                     raw.width, raw.length, raw.encoding, raw.bad_rows,
                     raw.error_correcting_mode_retries, raw.current_status)

    def far_ident(self) -> str:
        value = self.lib.t30_get_rx_ident(self.t30)
        return value.decode(errors="replace") if value else ""

    def close(self) -> None:
        if self.state:
            self.lib.t38_terminal_free(self.state)
            self.state = None


@dataclass
class T38Core:
    """A bare spandsp T.38 core that records what it decodes from the packets fed to it."""

    version: int = 3
    received: list[tuple[str, int, int, bytes]] = field(default_factory=list)
    sent: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lib = require()
        self._keep = [RX_INDICATOR_HANDLER(self._on_indicator), RX_DATA_HANDLER(self._on_data),
                      RX_MISSING_HANDLER(self._on_missing), TX_PACKET_HANDLER(self._on_tx)]
        self.state = self.lib.t38_core_init(None, *self._keep[:3], None, self._keep[3], None)
        self.lib.t38_set_t38_version(self.state, self.version)
        self.seq = 0

    def _on_indicator(self, core: int | None, user: int | None, indicator: int) -> int:
        del core, user
        self.received.append(("indicator", indicator, -1, b""))
        return 0

    def _on_data(self, core: int | None, user: int | None, data_type: int, field_type: int,
                 buf: object, length: int) -> int:
        del core, user
        payload = ctypes.string_at(buf, length) if length > 0 else b""  # type: ignore[call-overload]
        self.received.append(("data", data_type, field_type, payload))
        return 0

    def _on_missing(self, core: int | None, user: int | None, rx: int, expected: int) -> int:
        del core, user, rx, expected
        return 0

    def _on_tx(self, core: int | None, user: int | None, buf: object, length: int,
               count: int) -> int:
        del core, user, count
        self.sent.append(ctypes.string_at(buf, length))  # type: ignore[call-overload]
        return 0

    def feed(self, ifp: bytes) -> int:
        result = int(self.lib.t38_core_rx_ifp_packet(self.state, ifp, len(ifp), self.seq))
        self.seq = (self.seq + 1) & 0xFFFF
        return result

    def send_indicator(self, indicator: int) -> bytes:
        self.lib.t38_core_send_indicator(self.state, indicator)
        return self.sent.pop()

    def send_data(self, data_type: int, field_type: int, data: bytes) -> bytes:
        self.lib.t38_core_send_data(self.state, data_type, field_type, data, len(data), 1)
        return self.sent.pop()

    def close(self) -> None:
        if self.state:
            self.lib.t38_core_free(self.state)
            self.state = None
