"""New settings files, read through importlib.resources (so a zipapp or a frozen program finds them too)."""
