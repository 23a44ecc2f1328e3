"""models.record: a NamedTuple-alike without typing (issue 6)."""

from __future__ import annotations

import pytest

from rs_docker.models.record import record


@record
class Point:
    """A point."""

    x: int
    y: int = 0
    label: str = "p"

    @property
    def norm1(self) -> int:
        return abs(self.x) + abs(self.y)

    @classmethod
    def origin(cls) -> Point:
        return cls(0)


def test_fields_defaults_and_methods_like_namedtuple():
    p = Point(3, -4)
    assert p == (3, -4, "p") and p.norm1 == 7
    assert Point._fields == ("x", "y", "label")
    assert Point.origin() == Point(0, 0, "p")
    assert p._replace(label="q").label == "q"
    assert repr(p) == "Point(x=3, y=-4, label='p')"
    assert Point.__doc__ == "A point." and Point.__module__ == __name__
    assert {p: 1}[Point(3, -4)] == 1


def test_values_are_immutable():
    with pytest.raises(AttributeError):
        Point(1).x = 2


def test_required_field_after_default_is_refused():
    with pytest.raises(TypeError, match="non-default field 'b'"):
        @record
        class Bad:
            a: int = 1
            b: int
