"""Errors that end the run with a one-line message and a defined exit code (never a traceback)."""

EXIT_OK = 0  # no finding is an error
EXIT_FINDINGS = 1  # at least one finding is an error
EXIT_USAGE = 2  # bad command line or unusable input (nothing was written)
EXIT_INTERNAL = 3  # a bug in sd-doctor itself; the message says where to report it
EXIT_BROKEN_PIPE = 120  # stdout closed under us (| head, /dev/full): quiet, as pip does
EXIT_INTERRUPTED = 130  # Ctrl+C


class OutputClosed(Exception):
    """stdout cannot be written any more (the reader went away, or the device is full)."""


class UserError(Exception):
    """Bad input: printed as one line, exit 2. ``message`` is a T."""

    def __init__(self, message, code=EXIT_USAGE):
        Exception.__init__(self, message.render("en"))
        self.message = message
        self.code = code
