"""Endpoint faults the control API switches on and off: a registry that fault code plugs into.

An endpoint fault changes how the whole endpoint behaves (an outage: nothing answered; an
overload: 503 to everything) rather than one response of a scenario. The faults themselves
belong to the endpoint; this module only names them for ``POST /faults``::

    registry = EndpointFaultRegistry()
    registry.register("outage", OutageSwitch(endpoint))     # anything with EndpointFault's shape
    LiveServer(endpoint, ..., faults=registry)

``POST /faults`` with ``{"name": "outage", "on": true}`` (other keys are the fault's
parameters) calls :meth:`EndpointFault.enable` or :meth:`EndpointFault.disable`. A name no
switch is registered under is answered 501 (the fault is not implemented), a switch that
refuses (:class:`FaultConflict`, e.g. a parameter that cannot apply now) 409.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from sipfault.model.faults import ENDPOINT, FAULTS

if TYPE_CHECKING:
    from sipfault.endpoint import Endpoint

__all__ = [
    "EndpointFault",
    "EndpointFaultRegistry",
    "EndpointFaultSwitch",
    "FaultConflict",
    "UnknownFault",
    "endpoint_fault_registry",
]


class FaultConflict(Exception):
    """A switch cannot change state as asked now (answered 409 Conflict)."""


class UnknownFault(LookupError):
    """No switch is registered under the name (answered 501 Not Implemented)."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = known

    def __str__(self) -> str:
        known = ", ".join(self.known) or "none yet"
        return f"no endpoint fault named {self.name!r} (registered: {known})"


class EndpointFault(Protocol):
    """What a registered switch offers."""

    @property
    def description(self) -> str:
        """One line: what the fault does."""
        ...

    @property
    def active(self) -> bool:
        """Whether it is on."""
        ...

    def enable(self, parameters: Mapping[str, object]) -> None:
        """Switch it on with these parameters; raise FaultConflict or ValueError to refuse."""
        ...

    def disable(self) -> None:
        """Switch it off."""
        ...


class EndpointFaultRegistry:
    """Switches by name, in registration order."""

    def __init__(self) -> None:
        self._switches: dict[str, EndpointFault] = {}

    def register(self, name: str, switch: EndpointFault) -> None:
        """Offer ``switch`` under ``name``; a name registers once."""
        if name in self._switches:
            raise ValueError(f"an endpoint fault named {name!r} is already registered")
        self._switches[name] = switch

    @property
    def names(self) -> list[str]:
        """The registered names."""
        return list(self._switches)

    def get(self, name: str) -> EndpointFault:
        """The switch of ``name``; UnknownFault if there is none."""
        switch = self._switches.get(name)
        if switch is None:
            raise UnknownFault(name, self.names)
        return switch

    def switch(self, name: str, on: bool, parameters: Mapping[str, object]) -> EndpointFault:
        """Turn a fault on or off; UnknownFault, FaultConflict or ValueError if it cannot."""
        switch = self.get(name)
        if on:
            switch.enable(parameters)
        else:
            switch.disable()
        return switch

    def describe(self) -> list[dict[str, object]]:
        """``[{"name", "active", "description"}]`` of every switch."""
        return [{"name": name, "active": switch.active, "description": switch.description}
                for name, switch in self._switches.items()]


class EndpointFaultSwitch:
    """One of the endpoint's own faults (``outage``, ``overload``, ``slow``) as a switch:
    ``enable`` starts it now with the parameters a scenario file's ``endpoint_faults`` entry
    takes (``{"for": "30s"}``, ``{"retry_after": 60}``), checked the same way."""

    def __init__(self, endpoint: Endpoint, name: str) -> None:
        self._endpoint = endpoint
        self.name = name

    @property
    def description(self) -> str:
        return FAULTS[self.name].description

    @property
    def active(self) -> bool:
        return self.name in self._endpoint.endpoint_faults

    def enable(self, parameters: Mapping[str, object]) -> None:
        self._endpoint.set_endpoint_fault(self.name, dict(parameters))

    def disable(self) -> None:
        if self.active:
            self._endpoint.set_endpoint_fault(self.name, None)


def endpoint_fault_registry(endpoint: Endpoint) -> EndpointFaultRegistry:
    """A registry of every fault that may be written for the whole endpoint."""
    registry = EndpointFaultRegistry()
    for name, kind in FAULTS.items():
        if ENDPOINT in kind.scopes:
            registry.register(name, EndpointFaultSwitch(endpoint, name))
    return registry
