"""Official API clients of other languages, driven against the emulators by tests/clients/."""
