"""sd-doctor: checks a machine before the Stable Diffusion web UI runs, and writes its launch settings."""

__version__ = "0.1.0"
