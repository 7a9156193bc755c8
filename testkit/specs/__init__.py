"""Unmodified copies of the public API descriptions the emulators and tests check against (see README.md)."""

from pathlib import Path

SPECS_DIR = Path(__file__).resolve().parent
