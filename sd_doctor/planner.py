"""Turns facts into the web UI's memory and precision flags (issue: GPU check and the launch-flag planner)."""


class Plan(object):
    """The planned COMMANDLINE_ARGS.

    ``commandline_args``: the full planned token list (the user's other flags kept, superseded memory/precision flags
    replaced); ``reasons``: {flag: T} one line per planned flag; ``notes``: [T] extra lines for the report (e.g. the
    top of the ladder is reached); ``removed``: flags taken out, with why in ``reasons``.
    """

    def __init__(self, commandline_args, reasons=None, notes=None, removed=None):
        self.commandline_args = list(commandline_args)
        self.reasons = dict(reasons or {})
        self.notes = list(notes or [])
        self.removed = list(removed or [])

    def to_json(self):
        return {"commandline_args": list(self.commandline_args), "reasons": dict(self.reasons)}


def plan(ctx, findings):
    """A Plan for COMMANDLINE_ARGS, or None while the planner is not built. ``findings``: {check id: Finding}."""
    return None
