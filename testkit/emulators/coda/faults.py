"""Fault injection for the Coda emulator (the rules are shared: testkit.emulators.faults).

A `status` fault answers Coda's standard error body (`{"statusCode", "statusMessage", "message"}`); a
`drop_after_apply` queues the write, then closes the connection without an answer."""

from testkit.emulators.faults import FAULT_KINDS, Fault, FaultInjector, FaultKind

__all__ = ["FAULT_KINDS", "Fault", "FaultInjector", "FaultKind"]
