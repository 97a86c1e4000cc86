"""Frozen value classes validated by pydantic-core from a schema compiled ahead of time.

The SOP and facts formats are written as pydantic models (``sopgate/sop/spec.py``,
``sopgate/facts_spec.py``): they are the specification, and ``sopgate schema``, the error
messages' allowed keys and the mypy types come from them. Importing pydantic's model layer
and generating the core schema of those models costs a gate about 60 ms on every start,
more than all of sopgate's own work on a typical SOP. So ``python -m sopgate.codegen`` writes
the core schema pydantic generates for them into ``sopgate/_schemas.py`` (a test keeps it
current), and at run time the classes here are built from it: pydantic-core, the same
validator and serializer pydantic itself runs, with the same errors, defaults and
conversions, and none of pydantic's Python layer.

A class built here has the part of the ``BaseModel`` interface sopgate uses: keyword
construction (validated), ``model_validate``, ``model_validate_json``, ``model_dump``,
``model_dump_json``, ``model_copy``, ``model_fields_set``, frozen attributes, equality,
hashing and ``repr``. Anything else of ``BaseModel`` that mypy would let through fails with
an AttributeError, never silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from pydantic_core import SchemaSerializer, SchemaValidator, ValidationError

#: What the generated schema functions take: a class by name, a validator function by name.
SchemaFunction = Callable[[Callable[[str], type], Callable[[str], Any]], dict[str, Any]]


class Frozen:
    """The base of every built class: what pydantic's ``BaseModel`` gives a frozen model."""

    __slots__ = (
        "__dict__",
        "__pydantic_extra__",
        "__pydantic_fields_set__",
        "__pydantic_private__",
    )
    __pydantic_fields_set__: set[str]
    __schema__: ClassVar[dict[str, Any]]
    __definitions__: ClassVar[list[dict[str, Any]]]
    __validator: ClassVar[SchemaValidator | None] = None
    __serializer: ClassVar[SchemaSerializer | None] = None

    def __init__(self, **data: Any) -> None:
        type(self)._validator().validate_python(data, self_instance=self)

    @classmethod
    def _validator(cls) -> SchemaValidator:
        if cls.__dict__.get("_Frozen__validator") is None:
            cls.__validator = SchemaValidator(_alone(cls))
        return cls.__validator  # type: ignore[return-value]

    @classmethod
    def _serializer(cls) -> SchemaSerializer:
        if cls.__dict__.get("_Frozen__serializer") is None:
            cls.__serializer = SchemaSerializer(_alone(cls))
        return cls.__serializer  # type: ignore[return-value]

    @classmethod
    def model_validate(cls, obj: Any) -> Any:
        return cls._validator().validate_python(obj)

    @classmethod
    def model_validate_json(cls, data: str | bytes) -> Any:
        return cls._validator().validate_json(data)

    def model_dump(self, *, mode: str = "python", exclude_none: bool = False) -> dict[str, Any]:
        dumped: dict[str, Any] = (
            type(self)._serializer().to_python(self, mode=mode, exclude_none=exclude_none)
        )
        return dumped

    def model_dump_json(self, *, indent: int | None = None, exclude_none: bool = False) -> str:
        return (
            type(self)
            ._serializer()
            .to_json(self, indent=indent, exclude_none=exclude_none)
            .decode("utf-8")
        )

    def model_copy(self, *, update: Mapping[str, Any] | None = None) -> Any:
        """A shallow copy with ``update`` applied, not validated (as pydantic's)."""
        copied = type(self).__new__(type(self))
        fields = dict(self.__dict__)
        fields_set = set(self.__pydantic_fields_set__)
        if update:
            fields.update(update)
            fields_set.update(update)
        object.__setattr__(copied, "__dict__", fields)
        object.__setattr__(copied, "__pydantic_fields_set__", fields_set)
        object.__setattr__(copied, "__pydantic_extra__", None)
        object.__setattr__(copied, "__pydantic_private__", None)
        return copied

    @property
    def model_fields_set(self) -> set[str]:
        fields_set: set[str] = self.__pydantic_fields_set__
        return fields_set

    def __setattr__(self, name: str, value: Any) -> None:
        raise ValidationError.from_exception_data(
            type(self).__name__, [{"type": "frozen_instance", "loc": (name,), "input": value}]
        )

    def __delattr__(self, name: str) -> None:
        raise ValidationError.from_exception_data(
            type(self).__name__, [{"type": "frozen_instance", "loc": (name,), "input": None}]
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frozen):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash(tuple(self.__dict__.values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self.__dict__.items())
        return f"{type(self).__name__}({fields})"


def build(
    schema: SchemaFunction,
    *,
    module: str,
    functions: Mapping[str, Any],
    bases: Mapping[str, type] | None = None,
) -> Callable[[str], type]:
    """The classes of one generated schema, by name: each a :class:`Frozen` (after its
    entry in ``bases``, which gives it methods), in ``module``; the schema's validator
    functions are looked up in ``functions``. Validators are built on first use. A name the
    schema does not hold yet still gets a class (which fails when used), so that a model just
    added to the spec can be imported, and ``python -m sopgate.codegen`` run, at all."""
    classes: dict[str, type[Frozen]] = {}

    def cls(name: str) -> type:
        if name not in classes:
            mixin = (bases or {}).get(name)
            parents = (mixin, Frozen) if mixin is not None else (Frozen,)
            classes[name] = type(name, parents, {"__module__": module, "__qualname__": name})
        return classes[name]

    root = schema(cls, functions.__getitem__)
    definitions = root.get("definitions", []) if root.get("type") == "definitions" else []
    for node in _models(root):
        built = node["cls"]
        built.__schema__ = node
        built.__definitions__ = definitions
    return cls


def _alone(cls: type[Frozen]) -> dict[str, Any]:
    """The core schema of ``cls`` alone, with the definitions it may refer to."""
    if not cls.__definitions__:
        return cls.__schema__
    return {"type": "definitions", "schema": cls.__schema__, "definitions": cls.__definitions__}


def _models(node: Any) -> list[dict[str, Any]]:
    """Every ``model`` schema in ``node``, outermost first."""
    found: list[dict[str, Any]] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") == "model":
                found.append(item)
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list | tuple):
            stack.extend(reversed(item))
    return found
