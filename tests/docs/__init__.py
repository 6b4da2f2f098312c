"""The documentation: every code block runs, every public name has a reference entry."""
