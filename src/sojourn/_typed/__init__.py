"""Typed sessions outside the core: model libraries' shapes and the typed views."""
