"""Command-line options generated from a pydantic model's fields: one definition, two front ends.

`add_model_options(parser, ExtractOptions)` adds `--fps` etc. with the field's type, choices,
default and description; `model_from_args(ExtractOptions, args)` builds the validated model back.
"""

from __future__ import annotations

import argparse
import types
import typing
from typing import Any, Literal

from pydantic import BaseModel


def _scalar(annotation: Any) -> tuple[type, tuple[Any, ...] | None]:
    """(argparse type, choices) of a field annotation such as `int | None` or `Literal["a", "b"]`."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is Literal:
        return type(args[0]), tuple(args)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return _scalar(args[0])
    if annotation in (int, float, str):
        return annotation, None
    raise TypeError(f"no command-line form for a field of type {annotation!r}")


def add_model_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup, model: type[BaseModel]) -> None:
    for name, field in model.model_fields.items():
        default = field.default
        if field.annotation in (bool, "bool"):
            parser.add_argument(
                f"--{name.replace('_', '-')}",
                dest=name,
                action=argparse.BooleanOptionalAction,
                default=default,
                help=f"{field.description} (default: {'on' if default else 'off'})",
            )
            continue
        kind, choices = _scalar(field.annotation)
        # a field whose default is None says in its description what "unset" means
        suffix = "" if default is None else f" (default: {default})"
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            type=kind,
            choices=choices,
            default=default,
            metavar=None if choices else name.upper(),
            help=f"{field.description}{suffix}",
        )


def model_from_args(model: type[BaseModel], args: argparse.Namespace) -> BaseModel:
    return model(**{name: getattr(args, name) for name in model.model_fields})
