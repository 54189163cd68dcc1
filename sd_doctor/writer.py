"""Merges the plan into the web UI's settings file (issue: the settings writer and --fix)."""


def settings(ctx, findings, plan):
    """(JSON 'settings' dict (values may be T) or None, report lines [T]). Placeholder until the writer is built:
    it passes the planner's part through."""
    if plan is None:
        return None, []
    return plan.to_json(), list(plan.notes)
