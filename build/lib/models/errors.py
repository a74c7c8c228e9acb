"""The models' error types, importable without numpy or scikit-learn (the CLI catches them
in every command, the edge agent's included)."""


class DatasetError(ValueError):
    """The history file cannot be used for training or scoring."""


class ModelLoadError(RuntimeError):
    """A model directory is missing, corrupt, or was made with incompatible libraries."""


class SensorMismatch(ModelLoadError):
    """The data does not carry the sensors the model was trained on."""
