"""The compiled models (``sopgate/compiled.py``) decide exactly as the pydantic spec models
they are generated from: the same values, the same errors, and the generated schema is
current."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic_core import ValidationError

from sopgate import codegen, facts_spec
from sopgate.facts import Approval, Change, Check, Facts
from sopgate.sop import spec
from sopgate.sop.model import Sop, Window
from tests.unit.test_sop_fuzz import mutate, paths, values

ROOT = Path(__file__).resolve().parents[2]
SOPS = sorted(
    [
        ROOT / "examples" / ".sopgate.yml",
        *ROOT.glob("examples/*/.sopgate.yml"),
        *(ROOT / "sopgate" / "templates").glob("*/sopgate.yml"),
    ]
)
FACTS = sorted(ROOT.glob("examples/**/facts/*.yml"))
EXAMPLE = yaml.safe_load((ROOT / "examples" / ".sopgate.yml").read_text())
EXAMPLE_FACTS = yaml.safe_load((ROOT / "examples" / "facts" / "rejected.yml").read_text())


def test_the_generated_schemas_are_current() -> None:
    assert codegen.source() == codegen.TARGET.read_text(encoding="utf-8"), (
        "sopgate/_schemas.py is stale: run python -m sopgate.codegen"
    )
    assert codegen.main(["--check"]) == 0


def outcome(model: Any, data: Any) -> tuple[str, Any]:
    """What validating ``data`` gives: the JSON dump, or the errors as pydantic lists them."""
    try:
        return "valid", model.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        return "invalid", [
            (e["type"], e["loc"], e["msg"], repr(e["input"])) for e in exc.errors(include_url=False)
        ]


def test_there_are_files_to_compare() -> None:
    assert len(SOPS) >= 9 and len(FACTS) >= 3


@pytest.mark.parametrize("path", SOPS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_sop_is_the_same_value_both_ways(path: Path) -> None:
    data = yaml.safe_load(path.read_text().replace("__TODAY__", "2026-12-01"))
    found = outcome(Sop, data)
    assert found[0] == "valid"
    assert found == outcome(spec.Sop, data)


@pytest.mark.parametrize("path", FACTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_facts_file_is_the_same_value_both_ways(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    found = outcome(Facts, data)
    assert found[0] == "valid"
    assert found == outcome(facts_spec.Facts, data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), values)
def test_a_mangled_sop_gets_the_same_value_or_the_same_errors(
    data: st.DataObject, value: Any
) -> None:
    where = data.draw(st.sampled_from(paths(EXAMPLE)))
    mangled = mutate(EXAMPLE, where, value)
    assert outcome(Sop, mangled) == outcome(spec.Sop, mangled)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), values)
def test_mangled_facts_get_the_same_value_or_the_same_errors(
    data: st.DataObject, value: Any
) -> None:
    where = data.draw(st.sampled_from(paths(EXAMPLE_FACTS)))
    mangled = mutate(EXAMPLE_FACTS, where, value)
    assert outcome(Facts, mangled) == outcome(facts_spec.Facts, mangled)


def test_json_facts_are_read_the_same_both_ways() -> None:
    import json

    text = json.dumps(EXAMPLE_FACTS, default=str)
    assert Facts.model_validate_json(text).model_dump(
        mode="json"
    ) == facts_spec.Facts.model_validate_json(text).model_dump(mode="json")
    with pytest.raises(ValidationError) as ours:
        Facts.model_validate_json('{"facts": 2, "platform": "svn"}')
    with pytest.raises(ValidationError) as theirs:
        facts_spec.Facts.model_validate_json('{"facts": 2, "platform": "svn"}')
    assert ours.value.errors(include_url=False) == theirs.value.errors(include_url=False)
    assert len(ours.value.errors()) == 4  # facts, platform, commit, observed_at


def test_keyword_construction_is_validated() -> None:
    check = Check(name="build", app="ci", state="success")
    assert (check.name, check.app, check.state, check.at) == ("build", "ci", "success", None)
    with pytest.raises(ValidationError) as raised:
        Check(name="", state="done")
    assert [e["type"] for e in raised.value.errors()] == ["string_too_short", "literal_error"]
    with pytest.raises(ValidationError):
        Approval(user="rita", source="signoff", state="approved", surprise=1)  # type: ignore[call-arg]


def test_values_are_frozen() -> None:
    check = Check(name="build", state="success")
    with pytest.raises(ValidationError) as raised:
        check.name = "other"  # type: ignore[misc]
    assert raised.value.errors()[0]["type"] == "frozen_instance"
    with pytest.raises(ValidationError):
        del check.name
    assert check.name == "build"


def test_equality_hashing_and_repr_follow_the_fields() -> None:
    one = Check(name="build", state="success")
    assert one == Check(name="build", state="success")
    assert one != Check(name="build", state="failure")
    assert one != facts_spec.Check(name="build", state="success")  # another class
    assert hash(one) == hash(Check(name="build", state="success"))
    assert repr(one) == "Check(name='build', app=None, state='success', at=None, url=None)"


def test_fields_set_tells_absent_from_null() -> None:
    assert not Change(id=1).push_unknown  # absent: an older facts file
    assert Change(id=1, pushed_at=None).push_unknown  # null: the platform could not tell
    assert Change(id=1).model_fields_set == {"id"}


def test_model_copy_updates_without_touching_the_original() -> None:
    window = Window(start="09:00", end="16:00")
    moved = window.model_copy(update={"timezone": "Europe/Berlin"})
    assert (moved.timezone, moved.start, window.timezone) == ("Europe/Berlin", "09:00", "UTC")
    assert "timezone" in moved.model_fields_set and "timezone" not in window.model_fields_set
    assert window.model_copy() == window


def test_a_facts_digest_is_the_same_both_ways() -> None:
    ours = Facts.model_validate(EXAMPLE_FACTS)
    theirs = facts_spec.Facts.model_validate(EXAMPLE_FACTS)
    assert ours.to_data() == theirs.to_data()
    assert ours.digest() == theirs.digest()
    assert ours.model_dump_json() == theirs.model_dump_json()
    assert ours.model_dump_json(indent=2) == theirs.model_dump_json(indent=2)


@pytest.mark.parametrize(
    ("runtime", "specification"), [("sop.model", "sop.spec"), ("facts", "facts_spec")]
)
def test_every_spec_model_has_its_built_class_of_the_same_name(
    runtime: str, specification: str
) -> None:
    import importlib

    from pydantic import BaseModel

    from sopgate.compiled import Frozen

    ours = importlib.import_module(f"sopgate.{runtime}")
    theirs = importlib.import_module(f"sopgate.{specification}")
    names = {
        name
        for name, value in vars(theirs).items()
        if isinstance(value, type)
        and issubclass(value, BaseModel)
        and value.__module__ == theirs.__name__
    } - {"Model"}
    assert len(names) >= 5
    for name in names:
        built = getattr(ours, name)
        assert issubclass(built, Frozen) and built.__name__ == name
        assert built.__module__ == ours.__name__
