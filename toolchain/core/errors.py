"""Errors that reach the user as one clear line (the CLI prints them without a traceback)."""


class NeurodeployError(Exception):
    """A problem with the user's input, configuration or artifacts.

    The message must name the file, field or value at fault; `path` (optional) is the file or
    folder at fault, reported as such by `--json` errors.
    """

    def __init__(self, *args, path=None):
        super().__init__(*args)
        self.path = None if path is None else str(path)


class ConfigError(NeurodeployError):
    """A configuration file or option is invalid (names the key)."""


class DataError(NeurodeployError):
    """A data set or clip cannot be used (names the file)."""


class ArtifactError(NeurodeployError):
    """An artifact (checkpoint, IR, .net, manifest) is missing, truncated or tampered (names the file)."""


class OutputError(ConfigError):
    """An output path cannot be used: inside a file, not writable, too little space, or holding files
    neurodeploy did not write (it names the path; nothing has been written or deleted)."""
