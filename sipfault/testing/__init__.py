"""Testing helpers: the threaded :class:`Controller` and the pytest plugin.

The plugin (:mod:`sipfault.testing.plugin`) is registered through the ``pytest11`` entry point,
so installing sipfault gives every pytest run the ``sipfault`` and ``sipfault_server`` fixtures.
"""

from sipfault.testing.controller import Controller

__all__ = ["Controller"]
