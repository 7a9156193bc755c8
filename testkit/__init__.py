"""Test infrastructure: local HTTP emulators of the Airtable, Coda and Bitbucket APIs, builders of real git
repositories, shared scenarios. Used by the tests, the demo, the benchmarks and scripts; never by `pipe/`
(a test in tests/unit/test_layers.py keeps it so) and never copied into the image."""
