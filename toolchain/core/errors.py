"""Errors that reach the user as one clear line (the CLI prints them without a traceback)."""


class NeurodeployError(Exception):
    """A problem with the user's input, configuration or artifacts.

    The message must name the file, field or value at fault.
    """


class ConfigError(NeurodeployError):
    """A configuration file or option is invalid (names the key)."""


class DataError(NeurodeployError):
    """A data set or clip cannot be used (names the file)."""


class ArtifactError(NeurodeployError):
    """An artifact (checkpoint, IR, .net, manifest) is missing, truncated or tampered (names the file)."""
