"""Async sources of the stores; ``_sync`` holds their generated twins."""
