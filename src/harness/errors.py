"""What the command line reports in one line and exits 2 for (a sweep records the job as invalid and
goes on). Kept free of torch so that a refused command answers before torch is imported."""


class ConfigError(ValueError):
    """A config value is outside what the harness accepts."""


class DataNotFoundError(FileNotFoundError):
    """No dataset file where the data root says (the message names the paths tried)."""


class DataError(ValueError):
    """A data file that is there but not what the harness needs (one line: file, key, expected, found)."""


class RunDirError(RuntimeError):
    """A run dir that this run must not use or cannot write: another config's, in use, a damaged or
    foreign file in it (summary, checkpoint), not writable, its disk full."""
