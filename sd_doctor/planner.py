"""Turns facts into the web UI's memory and precision flags (issue: GPU check and the launch-flag planner)."""


def plan(ctx, findings):
    """A Plan for COMMANDLINE_ARGS, or None while the planner is not built."""
    return None
