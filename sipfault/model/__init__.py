"""The model every front end builds and the core reads: frozen dataclasses and the pure checks
that validate them. Below ``core/``; it imports nothing but the standard library and ``sip/``.
"""
