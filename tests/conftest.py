"""Fixtures shared by all tests: real git repositories and the service emulators."""

pytest_plugins = [
    "tests.gitrepos",
    "tests.emulators.airtable.fixtures",
    "tests.emulators.coda.fixtures",
]
