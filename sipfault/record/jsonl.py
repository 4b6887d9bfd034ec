"""Write the journal file: each record's JSON object as one compact line (RFC 8259).

The objects come from :meth:`sipfault.record.records.MessageRecord.to_json` and its siblings.

Values that JSON lacks are converted as follows:

- ``bytes``, ``bytearray`` and ``memoryview`` that are valid UTF-8 become a JSON string of the
  decoded text. Bytes that are not valid UTF-8 become ``{"base64": "<standard base64>"}``, so
  every reader, in any language, gets the exact bytes back.
- Any other ``Mapping`` becomes an object; tuples become arrays (as ``json`` does).
- Anything else (and NaN or an infinity) raises TypeError or ValueError before a byte is written.

Non-ASCII text is written as UTF-8, and every line is valid UTF-8 that strict readers (``jq``,
``json.loads`` of the decoded bytes) take. Text holding bytes that were not UTF-8 (a method,
Request-URI, Call-ID or header value the parser kept with ``surrogateescape``) is passed, every
string of the record alike (keys and nested values too), through :func:`valid_text`, which
writes each such byte as the four characters ``\\xNN``; the exact bytes are in the message's
``raw``. A stream in a narrower encoding than UTF-8 gets ``\\uXXXX`` escapes instead.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Mapping
from typing import TextIO

from sipfault.record.stream import GuardedStream

__all__ = ["JsonLinesWriter", "valid_text"]

# A lone surrogate: from `surrogateescape` decoding (U+DC80..U+DCFF stand for the bytes
# 0x80..0xFF), or any other that UTF-8 cannot carry.
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _escape_surrogate(found: re.Match[str]) -> str:
    code = ord(found.group())
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def valid_text(text: str) -> str:
    """``text`` with each byte that was not UTF-8 written as ``\\xNN`` (e.g. ``OP\\xa8IONS``).

    What the parser read with ``surrogateescape`` holds lone surrogates, which no UTF-8 file
    can carry; any other lone surrogate becomes ``\\uXXXX`` text. Valid text is returned as is.
    """
    if text.isascii():
        return text
    return _SURROGATE_RE.sub(_escape_surrogate, text)


def _valid(value: object) -> object:
    """``value`` with every string in it (mapping keys too) made valid by :func:`valid_text`."""
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, Mapping):
        return {_valid(key): _valid(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_valid(item) for item in value]
    return value


def _to_json(value: object) -> object:
    """Convert a value the ``json`` module cannot encode (the ``default`` hook)."""
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(raw).decode("ascii")}
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot write {type(value).__name__} to a JSON line")


def encode_line(record: Mapping[str, object], *, ascii_only: bool = False) -> str:
    """Return ``record`` as one compact JSON object and ``\\n``; UTF-8 text unless ``ascii_only``.

    Every string goes through :func:`valid_text` when the line would otherwise hold a lone
    surrogate, so the line is always valid UTF-8.
    """
    line = json.dumps(dict(record), ensure_ascii=ascii_only, separators=(",", ":"),
                      allow_nan=False, default=_to_json)
    try:
        line.encode("utf-8")  # the common case: nothing to escape, checked at C speed
    except UnicodeEncodeError:
        pass
    else:
        if not ascii_only or "\\ud" not in line:
            return line + "\n"
    line = json.dumps(_valid(record), ensure_ascii=ascii_only, separators=(",", ":"),
                      allow_nan=False, default=_to_json)
    return line + "\n"


class JsonLinesWriter(GuardedStream):
    """Append records to a text stream as JSON lines, flushing after each line.

    Flushing every line means a reader tailing the file sees each record at once, and a
    process killed mid-run leaves every line it wrote before.
    """

    def __init__(self, stream: TextIO) -> None:
        """Wrap a text ``stream``; :meth:`close` flushes it and leaves it open."""
        super().__init__(stream)
        self._stream: TextIO = stream

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> JsonLinesWriter:
        """Create (or truncate) the UTF-8 file at ``path`` and return a writer that owns it."""
        # newline="\n": JSON lines end in LF on every platform.
        stream = open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115 - owned
        writer = cls(stream)
        writer._owns_stream = True
        return writer

    def __enter__(self) -> JsonLinesWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def write(self, record: Mapping[str, object]) -> None:
        """Write ``record`` as one line and flush; raise ValueError once closed."""
        line = encode_line(record)
        with self._lock:
            if self._closed:
                raise ValueError("write to a closed JsonLinesWriter")
            try:
                self._stream.write(line)
            except UnicodeEncodeError:
                # A stream in a narrower encoding than UTF-8 (a C-locale console, say):
                # the text was refused whole, so write the escaped form instead.
                self._stream.write(encode_line(record, ascii_only=True))
            self._stream.flush()

