"""What the command line reports in one line and exits 2 for (a sweep records the job as invalid and
goes on), and the run's log file that says a failed write once. Kept free of torch so that a refused
command answers before torch is imported."""

import logging


class ConfigError(ValueError):
    """A config value is outside what the harness accepts."""


class DataNotFoundError(FileNotFoundError):
    """No dataset file where the data root says (the message names the paths tried)."""


class DataError(ValueError):
    """A data file that is there but not what the harness needs (one line: file, key, expected, found)."""


class RunDirError(RuntimeError):
    """A run dir that this run must not use or cannot write: another config's, in use, a damaged or
    foreign file in it (summary, checkpoint), not writable, its disk full."""


class RunLogFile(logging.FileHandler):
    """The run dir's harness.log (configs/hydra/job_logging/harness.yaml). A write that fails (a full
    disk, a file-size limit) is said once, in one line, and the log goes on on the console only:
    Python's logging would print a traceback for every later line. The run itself stops at its next
    checkpoint or metrics write, with its own one-line error."""

    def handleError(self, record):
        import sys

        error = sys.exc_info()[1]
        reason = getattr(error, "strerror", None) or type(error).__name__
        print(f"warning: cannot write {self.baseFilename}: {reason}; logging to the console only", file=sys.stderr)
        self.close()
        logging.getLogger().removeHandler(self)
