"""sipfault: a SIP test endpoint and fault injector.

The public names load on first use (PEP 562), so ``import sipfault.sip.parser`` or
``import sipfault.core.uas`` loads neither asyncio nor the YAML reader.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sipfault.version import __version__

if TYPE_CHECKING:
    from sipfault.api.server import Server
    from sipfault.config import ServerConfig
    from sipfault.testing.controller import Controller

__all__ = ["Controller", "Server", "ServerConfig", "__version__"]

_LAZY = {
    "Server": "sipfault.api.server",
    "ServerConfig": "sipfault.config",
    "Controller": "sipfault.testing.controller",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sipfault' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
