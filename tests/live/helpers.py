"""Helpers of the live view's tests: a raw HTTP client, and a Prometheus text parser."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass


@dataclass
class HttpReply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, object]:
        value = json.loads(self.body)
        assert isinstance(value, dict)
        return value


def split_reply(data: bytes) -> HttpReply:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return HttpReply(status, headers, body)


async def http(port: int, method: str, path: str, body: bytes = b"",
               headers: dict[str, str] | None = None, timeout: float = 5.0) -> HttpReply:
    """One request to 127.0.0.1:port; the reply read to the connection's close."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    fields = {"Host": f"127.0.0.1:{port}", **(headers or {})}
    if body or method == "POST":
        fields.setdefault("Content-Length", str(len(body)))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in fields.items()) + "\r\n"
    writer.write(head.encode() + body)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), timeout)
    writer.close()
    return split_reply(data)


async def post_json(port: int, path: str, value: object,
                    headers: dict[str, str] | None = None) -> HttpReply:
    return await http(port, "POST", path, json.dumps(value).encode(),
                      {"Content-Type": "application/json", **(headers or {})})


_SAMPLE = re.compile(
    r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)')


def parse_prometheus(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Samples by metric name, then by sorted label pairs; checks HELP and TYPE come first
    and each sample belongs to the family last declared (text format 0.0.4)."""
    families: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    declared: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("# HELP "):
            current = line.split()[2]
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert name == current, f"TYPE of {name} without its HELP"
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            declared[name] = kind
            families.setdefault(name, {})
            continue
        assert not line.startswith("#"), line
        match = _SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        name = match["name"]
        assert name == current and name in declared, f"{name} sampled outside its family"
        labels_text = match["labels"] or ""
        labels = tuple(sorted(_LABEL.findall(labels_text)))
        rebuilt = ",".join(f'{key}="{value}"' for key, value in _LABEL.findall(labels_text))
        assert rebuilt.replace(" ", "") == labels_text.replace(" ", ""), line
        families[name][labels] = float(match["value"])
        if declared[name] == "counter":
            assert name.endswith("_total"), name
    return families


def by_label(samples: dict[tuple[tuple[str, str], ...], float], label: str) -> dict[str, int]:
    """``{"INVITE": 2, ...}`` from samples labelled by one label."""
    return {dict(labels)[label]: int(value) for labels, value in samples.items()}
