"""Wire shapes derived from the records: each record's JSON shape is declared once, as a TypedDict beside the
record in qa/records.py (`to_dict()` returns it, so the type checker holds the two together); this module turns
such a TypedDict into the pydantic model that FastAPI and the MCP SDK publish as a schema. A field's description
is the string in its `Annotated[...]`."""

from __future__ import annotations

import functools
import types
import typing
from typing import Any, Union, get_args, get_origin, get_type_hints, is_typeddict

from pydantic import BaseModel, Field, create_model


def _field_type(hint: Any) -> Any:
    """The hint with every TypedDict inside it (alone, in a list, or in a union with None) made a model."""
    if is_typeddict(hint):
        return wire_model(hint)
    origin = get_origin(hint)
    if origin is list:
        return list[_field_type(get_args(hint)[0])]  # type: ignore[misc]
    if origin in (Union, types.UnionType):
        return functools.reduce(lambda a, b: a | b, (_field_type(arg) for arg in get_args(hint)))
    return hint


def _split(hint: Any) -> tuple[Any, str | None]:
    """(type, description) of a hint, the description being the first string of an `Annotated[...]`."""
    if get_origin(hint) is typing.Annotated:
        base, *meta = get_args(hint)
        return base, next((m for m in meta if isinstance(m, str)), None)
    return hint, None


@functools.cache
def wire_model(shape: type) -> type[BaseModel]:
    """The pydantic model of TypedDict `shape`, named as the shape with "JSON" made "Out". Subclass it to add
    fields that only the wire has."""
    fields: dict[str, Any] = {}
    for key, hint in get_type_hints(shape, include_extras=True).items():
        base, description = _split(hint)
        fields[key] = (_field_type(base), Field(description=description))
    model: type[BaseModel] = create_model(shape.__name__.removesuffix("JSON") + "Out", __doc__=shape.__doc__, **fields)
    return model
