"""Merges the plan into the web UI's settings file (issue: the settings writer and --fix)."""


def settings(ctx, findings, plan):
    """(JSON 'settings' dict or None, report lines). Placeholder until the writer is built."""
    return None, []
