"""Test helpers that ship with the library (e.g. the CPU device guard), importable by tests and bench."""
