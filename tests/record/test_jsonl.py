"""Tests for the JSON-lines journal writer."""

from __future__ import annotations

import base64
import io
import json
import math
from pathlib import Path
from types import MappingProxyType

import pytest

from sipfault.record.jsonl import JsonLinesWriter

INVITE = (b"INVITE sip:bob@example.com SIP/2.0\r\nCall-ID: a84b4c76e66710\r\n"
          b"Content-Length: 0\r\n\r\n")


def lines_of(stream: io.StringIO) -> list[str]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return text.split("\n")[:-1]


def test_each_record_is_one_compact_json_object_per_line() -> None:
    stream = io.StringIO()
    writer = JsonLinesWriter(stream)
    writer.write({"event": "received", "t": 1.5, "src": ("127.0.0.1", 5060), "ok": True})
    writer.write({"event": "sent", "code": 486, "headers": {"Retry-After": "30"}, "x": None})

    first, second = lines_of(stream)
    assert first == '{"event":"received","t":1.5,"src":["127.0.0.1",5060],"ok":true}'
    assert json.loads(second) == {"event": "sent", "code": 486,
                                  "headers": {"Retry-After": "30"}, "x": None}
    assert " " not in second


def test_utf8_bytes_become_a_string() -> None:
    stream = io.StringIO()
    JsonLinesWriter(stream).write({"raw": INVITE, "name": bytearray("Müller".encode())})
    (line,) = lines_of(stream)
    record = json.loads(line)
    assert record["raw"].encode("utf-8") == INVITE
    assert record["name"] == "Müller"
    assert "Müller" in line, "non-ASCII text is written as UTF-8, not escaped"


def test_bytes_that_are_not_utf8_become_base64() -> None:
    raw = b"MESSAGE sip:x SIP/2.0\r\nSubject: caf\xe9\r\n\r\n\xff\xfe"
    stream = io.StringIO()
    JsonLinesWriter(stream).write({"raw": raw, "view": memoryview(b"\x80")})
    record = json.loads(lines_of(stream)[0])
    assert base64.b64decode(record["raw"]["base64"]) == raw
    assert record["view"] == {"base64": "gA=="}


def test_nested_mappings_are_written_as_objects() -> None:
    stream = io.StringIO()
    JsonLinesWriter(stream).write(MappingProxyType({"inner": MappingProxyType({"k": [b"v"]})}))
    assert json.loads(lines_of(stream)[0]) == {"inner": {"k": ["v"]}}


def test_bytes_that_were_not_utf8_are_escaped_in_valid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    text = b"Subject: caf\xe9".decode("utf-8", "surrogateescape")
    with JsonLinesWriter.open(path) as writer:
        writer.write({"header": text, "name": "Müller"})
    data = path.read_bytes()
    line = data.decode("utf-8")  # raises if the file is not UTF-8
    # Never a lone surrogate (strict readers such as jq refuse one): the byte as \xe9 text.
    assert "\\udce9" not in line
    assert json.loads(line) == {"header": "Subject: caf\\xe9", "name": "Müller"}


def test_stream_in_a_narrow_encoding_gets_escaped_text() -> None:
    buffer = io.BytesIO()
    stream = io.TextIOWrapper(buffer, encoding="ascii", newline="\n")
    JsonLinesWriter(stream).write({"name": "Müller"})
    assert buffer.getvalue() == b'{"name":"M\\u00fcller"}\n'


@pytest.mark.parametrize(
    ("record", "error"),
    [
        ({"t": math.nan}, ValueError),
        ({"t": math.inf}, ValueError),
        ({"when": object()}, TypeError),
        ({"set": {1, 2}}, TypeError),
    ],
)
def test_values_json_lacks_are_refused_before_writing(record: dict[str, object],
                                                       error: type[Exception]) -> None:
    stream = io.StringIO()
    writer = JsonLinesWriter(stream)
    with pytest.raises(error):
        writer.write(record)
    assert stream.getvalue() == ""
    writer.write({"ok": 1})
    assert lines_of(stream) == ['{"ok":1}']


def test_every_line_is_on_disk_before_close(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    writer = JsonLinesWriter.open(path)
    assert path.read_bytes() == b""
    writer.write({"n": 1, "msg": INVITE})
    assert path.read_bytes().split(b"\n") == [
        json.dumps({"n": 1, "msg": INVITE.decode()}, separators=(",", ":")).encode(), b""
    ]
    writer.write({"n": 2})
    with path.open("rb") as reader:  # another file object sees both lines
        assert [json.loads(line)["n"] for line in reader] == [1, 2]
    writer.close()
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write({"n": 3})
    assert path.read_bytes().count(b"\n") == 2


def test_lines_end_in_lf_only(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with JsonLinesWriter.open(path) as writer:
        writer.write({"text": "a\r\nb"})
    assert path.read_bytes() == b'{"text":"a\\r\\nb"}\n'


def test_flushes_a_borrowed_stream_after_every_line_and_leaves_it_open() -> None:
    class CountingStream(io.StringIO):
        flushes = 0

        def flush(self) -> None:
            self.flushes += 1
            super().flush()

    stream = CountingStream()
    writer = JsonLinesWriter(stream)
    writer.write({"a": 1})
    assert stream.flushes == 1
    writer.write({"a": 2})
    assert stream.flushes == 2
    writer.close()
    assert not stream.closed
