"""Loading a process's TOML config file into its pydantic settings model."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from contracts.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def describe(exc: ValidationError) -> str:
    """One line per problem: ``key.path: message (got value)``."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        got = f" (got {err['input']!r})" if "input" in err and not isinstance(
            err["input"], dict | list) else ""
        lines.append(f"  {where}: {err['msg']}{got}")
    return "\n".join(lines)


def load_config(model: type[M], path: str | Path | None, **overrides: object) -> M:
    """Read ``path`` (TOML) into ``model``; keyword overrides win over the file.

    With ``path=None`` the model's defaults are used.
    """
    data: dict[str, object] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {path} not found") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        where = f"config file {path}" if path else f"{model.__name__} settings"
        raise ConfigError(f"{where} is invalid:\n{describe(exc)}") from exc


def to_toml(data: dict, _prefix: str = "") -> str:
    """Write the nested dict/list-of-dict shapes our configs use as TOML.

    >>> print(to_toml({"a": 1, "b": {"c": "x"}, "d": [{"e": True}]}).strip())
    a = 1
    <BLANKLINE>
    [b]
    c = "x"
    <BLANKLINE>
    [[d]]
    e = true
    """
    import json

    def scalar(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(scalar(x) for x in v) + "]"
        return json.dumps(str(v))

    lines, tables = [], []
    for k, v in data.items():
        if v is None:
            continue
        if isinstance(v, dict):
            tables.append(f"\n[{_prefix}{k}]\n" + to_toml(v, f"{_prefix}{k}."))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for item in v:
                tables.append(f"\n[[{_prefix}{k}]]\n" + to_toml(item, f"{_prefix}{k}."))
        else:
            lines.append(f"{k} = {scalar(v)}")
    return "\n".join(lines) + ("\n" if lines else "") + "".join(tables)
