"""Write the journal file: each record's JSON object as one compact line (RFC 8259).

The objects come from :meth:`sipfault.record.records.MessageRecord.to_json` and its siblings.

Values that JSON lacks are converted as follows:

- ``bytes``, ``bytearray`` and ``memoryview`` that are valid UTF-8 become a JSON string of the
  decoded text. Bytes that are not valid UTF-8 become ``{"base64": "<standard base64>"}``, so
  every reader, in any language, gets the exact bytes back.
- Any other ``Mapping`` becomes an object; tuples become arrays (as ``json`` does).
- Anything else (and NaN or an infinity) raises TypeError or ValueError before a byte is written.

Non-ASCII text is written as UTF-8. A line that UTF-8 (or the stream's encoding) cannot carry,
such as a string holding a lone surrogate from ``surrogateescape`` decoding, is written with
``\\uXXXX`` escapes instead, which any JSON reader decodes to the same string.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Mapping
from typing import TextIO

__all__ = ["JsonLinesWriter"]


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

    Falls back to ``\\uXXXX`` escapes when the text holds a lone surrogate, which UTF-8 cannot
    carry.
    """
    if not ascii_only:
        line = json.dumps(dict(record), ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False, default=_to_json)
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:
            pass
        else:
            return line + "\n"
    line = json.dumps(dict(record), ensure_ascii=True, separators=(",", ":"),
                      allow_nan=False, default=_to_json)
    return line + "\n"


class JsonLinesWriter:
    """Append records to a text stream as JSON lines, flushing after each line.

    Flushing every line means a reader tailing the file sees each record at once, and a
    process killed mid-run leaves every line it wrote before.
    """

    def __init__(self, stream: TextIO) -> None:
        """Wrap a text ``stream``; :meth:`close` flushes it and leaves it open."""
        self._stream = stream
        self._owns_stream = False
        self._closed = False
        self._lock = threading.Lock()

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

    def close(self) -> None:
        """Flush, and close the stream if :meth:`open` created it. Closing twice is harmless."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._owns_stream:
                self._stream.close()
            else:
                self._stream.flush()
