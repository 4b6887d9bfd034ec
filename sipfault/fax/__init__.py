"""A sans-I/O T.38 fax terminal: IFP and UDPTL codecs, a T.30 state machine, T.4/T.6 pages.

The modules only turn bytes into values and values into bytes, and take the time as an
argument: the caller owns the sockets and the clock (ITU-T T.38, T.30, T.4, T.6).

- :mod:`sipfault.fax.t38` IFP packets (ITU-T T.38 §7 and Annex A, ASN.1 PER).
- :mod:`sipfault.fax.udptl` UDPTL framing, redundancy and FEC (ITU-T T.38 §9.1, Annex A).
- :mod:`sipfault.fax.t30` the fax terminal (ITU-T T.30) over IFP packets.
- :mod:`sipfault.fax.t4` MH, MR (ITU-T T.4) and MMR (ITU-T T.6) coding of bi-level rows.
- :mod:`sipfault.fax.tiff` TIFF Class F pages; :mod:`sipfault.fax.png` bi-level PNG.
- :mod:`sipfault.fax.testpage` a page drawn with a built-in bitmap font.
"""
