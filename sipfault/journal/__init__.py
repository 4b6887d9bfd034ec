"""The record of a run: JSON lines and pcap, written from the server's events as they happen.

``Recorder.open(journal="run.jsonl", pcap="run.pcap")`` gives a listener for
``Server.add_listener``; :mod:`sipfault.journal.recorder` documents the records.
"""

from sipfault.journal.jsonl import JsonLinesWriter
from sipfault.journal.pcap import PcapWriter
from sipfault.journal.recorder import Recorder, WallClock, event_record

__all__ = ["JsonLinesWriter", "PcapWriter", "Recorder", "WallClock", "event_record"]
