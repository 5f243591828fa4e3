"""model.fast_init: the faster __init__ of the hot frozen dataclasses (Finding, Location) builds exactly the
instance the dataclass-generated one builds."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from lashing.model import Finding, FindingKind, Location, Package, PackageType, Severity, fast_init


def _reference(cls: type) -> type:
    """The same dataclass with the generated __init__."""
    return dataclasses.make_dataclass(
        cls.__name__, [(f.name, f.type, f) for f in dataclasses.fields(cls)], frozen=True)


@pytest.mark.parametrize("kwargs", [
    {},
    {"description": "d", "location": Location("p", line=3, end_line=4), "aliases": ("A",), "extra": {"k": "v"}},
    {"package": Package("n", "1", PackageType.DEB), "fixed_versions": ("2",), "fix_state": "fixed", "remediation": "r"},
])
def test_finding_fields_defaults_and_behaviour(kwargs: dict[str, object]) -> None:
    fast = Finding("ID-1", FindingKind.CONFIG, Severity.HIGH, "title", **kwargs)
    plain = _reference(Finding)("ID-1", FindingKind.CONFIG, Severity.HIGH, "title", **kwargs)
    assert {f.name: getattr(fast, f.name) for f in dataclasses.fields(Finding)} == \
        {f.name: getattr(plain, f.name) for f in dataclasses.fields(Finding)}
    assert fast == Finding("ID-1", FindingKind.CONFIG, Severity.HIGH, "title", **kwargs)
    assert hash(fast) == hash(Finding("ID-1", FindingKind.CONFIG, Severity.HIGH, "title", **kwargs))
    assert pickle.loads(pickle.dumps(fast)) == fast
    assert dataclasses.replace(fast, title="other").title == "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.title = "changed"  # type: ignore[misc]


def test_default_factories_give_each_instance_its_own_value() -> None:
    first = Finding("a", FindingKind.CONFIG, Severity.LOW, "t")
    second = Finding("b", FindingKind.CONFIG, Severity.LOW, "t")
    assert first.extra == {} and first.extra is not second.extra


def test_missing_and_unknown_arguments_are_errors() -> None:
    with pytest.raises(TypeError):
        Finding("a")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Location("p", column=1)  # type: ignore[call-arg]


def test_positional_order_is_the_field_order() -> None:
    assert Location("p", "sha256:x", 3, 5) == Location(path="p", layer_diff_id="sha256:x", line=3, end_line=5)
    assert fast_init(_reference(Location))("p", None, 1, 2).end_line == 2


def test_finding_at_is_replace() -> None:
    """Finding.at: the same finding as dataclasses.replace gives, still frozen, the prototype untouched."""
    prototype = Finding(id="R", kind=FindingKind.CONFIG, severity=Severity.HIGH, title="t", aliases=("A",))
    location, extra = Location("p.yaml", line=3, end_line=4), {"resource": "Pod/a"}
    copy = prototype.at(location, extra)
    expected = dataclasses.replace(prototype, location=location, extra=extra)
    assert copy == expected and copy.__dict__ == expected.__dict__ and hash(copy) == hash(expected)
    assert prototype.location is None and prototype.extra == {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        copy.id = "other"  # type: ignore[misc]
