"""The sans-IO core: no sockets, no files, no clock, no framework imports.

Rule: everything that decides what a session is and what must be written lives here, as pure
code over values. Managers and adapters only move bytes between this core, stores and
frameworks. ``tests/test_core_purity.py`` enforces that nothing here imports I/O.
"""
