"""sipfault: a SIP test endpoint and fault injector."""

# Set before the imports below: sipfault.core reads it while they run.
__version__ = "0.1.0"

from sipfault.api.server import Server
from sipfault.testing.controller import Controller

__all__ = ["Controller", "Server", "__version__"]
