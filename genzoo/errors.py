"""The one exception type that the CLI turns into a one-line message and exit code 2."""


class GenzooError(Exception):
    """A problem with the user's input (a name, a file, a flag) that they can fix.

    The message must say what was wrong and what to do about it, in one line.
    """


NOISE_PREFIXES = ("Does not validate", "Subtypes:", "Errors:", "Given value", "Expected a <class 'NoneType'>")


def condense_argument_error(message: str) -> str:
    """jsonargparse explains a bad value over a dozen nested lines; keep the informative ones, on one line."""
    lines = (line.strip().lstrip("- ").strip() for line in message.splitlines())
    kept = [line for line in lines if line and not line.startswith(NOISE_PREFIXES)]
    return " ".join(kept) + " (see 'genzoo fit --help')"
