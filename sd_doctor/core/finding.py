"""The typed result of one check: a status, a one-line detail, exact advice, and the facts behind it."""

OK, WARN, ERROR, SKIP = "ok", "warn", "error", "skip"
# A check whose own code raised (a bug in sd-doctor, not a fact about the machine): never a silent skip; it fails the
# run with exit 3 (flutter doctor's "crashed" validator).
CRASH = "crash"
STATUSES = (OK, WARN, ERROR, SKIP, CRASH)
_RANK = {SKIP: 0, OK: 1, WARN: 2, ERROR: 3, CRASH: 4}


def worst(statuses, default=OK):
    statuses = list(statuses)
    return max(statuses, key=_RANK.__getitem__) if statuses else default


class Finding(object):
    """What one check concluded.

    A check adds problems (``error``/``warn``), notes (``ok`` lines worth saying) and advice; the status is the worst
    problem. ``proposals`` carries machine-readable remedies for the settings writer (e.g. ``{"PYTHON": path}``,
    ``{"port": 7861}``, ``{"NO_PROXY": "localhost,127.0.0.1,::1"}``); ``remedies`` carries filesystem actions that
    ``--fix`` may apply (e.g. ``{"action": "rename-aside", "path": ...}``).
    """

    def __init__(self, check_id, title):
        self.id = check_id
        self.title = title
        self.lines = []  # (status, T)
        self.advice = []  # T
        self.proposals = {}
        self.remedies = []
        self.facts = {}
        self.elapsed = 0.0
        self._forced = None

    # -- building -----------------------------------------------------------------------------------------------
    def add(self, status, message, advice=()):
        assert status in STATUSES, status
        self.lines.append((status, message))
        for a in advice:
            self.advise(a)
        return self

    def ok(self, message):
        return self.add(OK, message)

    def warn(self, message, *advice):
        return self.add(WARN, message, advice)

    def error(self, message, *advice):
        return self.add(ERROR, message, advice)

    def skip(self, message, *advice):
        """Mark the whole check as skipped (nothing could be judged)."""
        self._forced = SKIP
        return self.add(SKIP, message, advice)

    def crash(self, message):
        """The check's own code failed: the whole check is 'crash'."""
        self._forced = CRASH
        return self.add(CRASH, message)

    def advise(self, message):
        if message not in self.advice:
            self.advice.append(message)
        return self

    # -- reading ------------------------------------------------------------------------------------------------
    @property
    def status(self):
        if self._forced:
            return self._forced
        return worst((s for s, _ in self.lines if s not in (SKIP, CRASH)), default=OK)

    def detail_lines(self):
        """The lines worth showing: problems first when there are any, otherwise the ok notes."""
        status = self.status
        if status in (WARN, ERROR):
            problems = [m for s, m in self.lines if s in (WARN, ERROR)]
            notes = [m for s, m in self.lines if s not in (WARN, ERROR)]
            return problems + notes
        return [m for _, m in self.lines]

    def to_dict(self, lang):
        from sd_doctor.core.text import render

        return {
            "id": self.id,
            "status": self.status,
            "title": render(self.title, lang),
            "detail": " ".join(render(self.detail_lines(), lang)),
            "advice": render(self.advice, lang),
        }
