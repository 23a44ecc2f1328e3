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


def test_keywords_defaults_and_bad_arguments_bind_like_a_def():
    assert Point(y=2, x=1) == (1, 2, "p") and Point(1, label="z") == (1, 0, "z")
    with pytest.raises(TypeError, match="missing required argument: 'x'"):
        Point(y=1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        Point(1, z=2)
    with pytest.raises(TypeError, match="multiple values for argument 'x'"):
        Point(1, x=2)
    with pytest.raises(TypeError, match="takes 4 positional arguments"):
        Point(1, 2, "a", "b")


def test_make_asdict_replace_and_pickle_like_namedtuple():
    import copy
    import pickle

    p = Point._make([1, 2, "a"])
    assert p == Point(1, 2, "a") and p._asdict() == {"x": 1, "y": 2, "label": "a"}
    with pytest.raises(TypeError, match="Expected 3 arguments, got 2"):
        Point._make([1, 2])
    with pytest.raises(ValueError, match="unexpected field names: \\['z'\\]"):
        p._replace(z=1)
    assert pickle.loads(pickle.dumps(p)) == p and copy.deepcopy(p) == p
    assert isinstance(p, tuple) and Point._field_defaults == {"y": 0, "label": "p"}
