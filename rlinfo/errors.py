"""Exceptions rlinfo raises for bad user input; the CLI prints them as one line and exits 2."""


class RlinfoError(Exception):
    """Base class for errors caused by user input (config, CLI argument, file, environment)."""


class ConfigError(RlinfoError, ValueError):
    """An invalid configuration: unknown key, wrong type, malformed YAML or override."""


class CheckpointError(RlinfoError):
    """A checkpoint that is missing, corrupt, truncated, foreign or from a future format."""


class NonFiniteError(RlinfoError):
    """A loss, reward or observation became NaN or infinite during training."""


class EvaluationError(RlinfoError):
    """The evaluation at the end of a run failed; the run's final checkpoint is on disk."""
