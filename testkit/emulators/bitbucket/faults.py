"""Fault injection for the Bitbucket emulator (the rules are shared: testkit.emulators.faults).

A `status` fault answers Bitbucket's error body (`{"type": "error", "error": {...}}`), a 429 the live plain-text
one; `listener` limits a rule to the API or the proxy listener."""

from testkit.emulators.faults import FAULT_KINDS, Fault, FaultInjector, FaultKind, Listener

__all__ = ["FAULT_KINDS", "Fault", "FaultInjector", "FaultKind", "Listener"]
