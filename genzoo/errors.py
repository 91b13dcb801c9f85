"""The one exception type that the CLI turns into a one-line message and exit code 2."""


class GenzooError(Exception):
    """A problem with the user's input (a name, a file, a flag) that they can fix.

    The message must say what was wrong and what to do about it, in one line.
    """
