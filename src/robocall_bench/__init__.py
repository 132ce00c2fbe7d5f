"""robocall-bench: a robocall-vs-human call audio benchmark."""

__version__ = "0.1.0"
