"""Media packets, read and counted without sockets (a pure layer, like ``sipfault.fax``).

- :mod:`sipfault.media.rtp` the RTP fixed header (RFC 3550 §5.1).
- :mod:`sipfault.media.accounting` what one stream received: packets, bytes, RTP and UDPTL
  (ITU-T T.38 §9.1, read by :mod:`sipfault.fax.udptl`), sequence gaps.

The sockets are ``sipfault.transport.media``'s; the core decides which streams exist
(``sipfault.core.sessions``).
"""
