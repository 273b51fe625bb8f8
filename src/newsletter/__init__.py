"""Static-first newsletter and feed publisher."""

__version__ = "0.1.0"
