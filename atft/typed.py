"""Typed construction of the frozen config dataclasses from TOML / JSON values (the one config loader).

`build_dataclass(DataConfig, {"horizons": [1, 5]}, "data")` checks the keys, coerces every value to its
field's annotation (lists -> tuples, ints -> floats, a TOML date to its ISO string, ``none`` clears an
optional field) and names the ``section.key`` of a value that does not fit.
"""

from __future__ import annotations

import dataclasses
import datetime
import types
import typing
from collections.abc import Mapping
from typing import Any

NONE_WORDS = ("none", "null")  # TOML has no null: `train.max_train_days=none` clears an optional field


def coerce(value: Any, annotation: Any, where: str) -> Any:
    """Turn a TOML/JSON value into the field's type (lists -> tuples, ints -> floats)."""
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        options = typing.get_args(annotation)
        if type(None) in options and (
            value is None or (isinstance(value, str) and value.lower() in NONE_WORDS)
        ):
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return coerce(value, option, where)
            except (TypeError, ValueError) as error:
                errors.append(str(error))
        raise ValueError(f"{where}: {value!r} fits none of {annotation}: {errors}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"{where}: expected a list, found {value!r}")
        (item_type, *_rest) = typing.get_args(annotation)
        return tuple(coerce(item, item_type, where) for item in value)
    if origin is typing.Literal:
        if value not in typing.get_args(annotation):
            raise ValueError(f"{where}: {value!r} is not one of {typing.get_args(annotation)}")
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise TypeError(f"{where}: expected true/false, found {value!r}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{where}: expected an integer, found {value!r}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{where}: expected a number, found {value!r}")
        return float(value)
    if annotation is str:
        if isinstance(value, (datetime.date, datetime.time)):  # TOML reads 2016-06-01 as a date
            return value.isoformat()
        if not isinstance(value, str):
            raise TypeError(f"{where}: expected a string, found {value!r}")
        return value
    return value


def build_dataclass(cls: type, values: Mapping[str, Any], section: str) -> Any:
    """`cls(**values)` with every value coerced to its field's type; unknown keys are an error naming them."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown keys {unknown} in [{section}]; expected some of {sorted(known)}.")
    return cls(**{key: coerce(value, hints[key], f"{section}.{key}") for key, value in values.items()})
