"""sipfault: a SIP test endpoint and fault injector."""

__version__ = "0.1.0"
