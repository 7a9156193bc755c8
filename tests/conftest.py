"""Fixtures shared by all tests: real git repositories and the service emulators."""

pytest_plugins = [
    "testkit.gitrepos",
    "testkit.emulators.airtable.fixtures",
    "testkit.emulators.coda.fixtures",
    "testkit.emulators.bitbucket.fixtures",
]
