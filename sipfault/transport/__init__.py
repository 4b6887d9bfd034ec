"""asyncio endpoints: the only code that touches sockets."""
