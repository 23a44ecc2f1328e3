"""rs_docker.values: the contract of `@record`, the one value idiom."""

from __future__ import annotations

import copy
import pickle

import pytest

from rs_docker.values import default_factory, record


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


@record
class Tagged:
    name: str
    tags: dict = default_factory(dict)


@record
class Port:
    """A port number, checked and normalized by its own constructor."""

    number: int
    proto: str = "tcp"

    def __new__(cls, number, proto="tcp"):
        number = int(number)
        if not 0 < number < 65536:
            raise ValueError(f"invalid port {number}")
        return tuple.__new__(cls, (number, proto.lower()))


def test_named_fields_defaults_methods_and_docstring():
    p = Point(3, -4)
    assert (p.x, p.y, p.label, p.norm1) == (3, -4, "p", 7)
    assert Point._fields == Point.__match_args__ == ("x", "y", "label")
    assert Point._field_defaults == {"y": 0, "label": "p"}
    assert Point.origin() == Point(0, 0, "p")
    assert Point.__doc__ == "A point." and Point.__module__ == __name__


def test_values_are_immutable():
    p = Point(1)
    with pytest.raises(AttributeError):
        p.x = 2
    with pytest.raises(AttributeError):
        p.z = 2  # no __dict__: no new attributes either
    with pytest.raises(AttributeError):
        del p.x


def test_equality_and_hash_by_value():
    assert Point(3, -4) == Point(3, -4) and Point(3, -4) != Point(3, 4)
    assert hash(Point(3, -4)) == hash(Point(3, -4)) == hash((3, -4, "p"))
    assert {Point(3, -4): 1}[Point(3, -4)] == 1
    assert len({Point(1), Point(1), Point(2)}) == 2


def test_repr_names_the_fields():
    assert repr(Point(3, -4)) == "Point(x=3, y=-4, label='p')"


def test_replace_make_and_asdict():
    p = Point._make([1, 2, "a"])
    assert p == Point(1, 2, "a") and p._asdict() == {"x": 1, "y": 2, "label": "a"}
    q = p._replace(label="q")
    assert type(q) is Point and q == Point(1, 2, "q") and p.label == "a"
    with pytest.raises(TypeError, match="Expected 3 arguments, got 2"):
        Point._make([1, 2])
    with pytest.raises(ValueError, match="unexpected field names: \\['z'\\]"):
        p._replace(z=1)


def test_pickle_and_copy_keep_the_value():
    p = Point(1, 2, "a")
    assert pickle.loads(pickle.dumps(p)) == p and copy.deepcopy(p) == p
    assert type(pickle.loads(pickle.dumps(p))) is Point


def test_arguments_bind_like_a_def():
    assert Point(y=2, x=1) == Point(1, 2) and Point(1, label="z") == Point(1, 0, "z")
    with pytest.raises(TypeError, match="missing required argument: 'x'"):
        Point(y=1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        Point(1, z=2)
    with pytest.raises(TypeError, match="multiple values for argument 'x'"):
        Point(1, x=2)
    with pytest.raises(TypeError, match="takes 4 positional arguments"):
        Point(1, 2, "a", "b")


def test_default_factory_makes_a_fresh_default_each_time():
    a, b = Tagged("a"), Tagged("b")
    assert a.tags == {} and a.tags is not b.tags
    assert Tagged("c", {"k": "v"}).tags == {"k": "v"}
    assert Tagged._field_defaults == {}


def test_a_class_body_new_checks_and_normalizes():
    assert Port("80", "TCP") == Port(80) and Port(80).number == 80
    with pytest.raises(ValueError, match="invalid port 0"):
        Port(0)
    assert pickle.loads(pickle.dumps(Port(53, "udp"))) == Port(53, "udp")
    assert Port(80)._replace(proto="udp") == Port(80, "udp")


def test_field_rules():
    with pytest.raises(TypeError, match="non-default field 'b'"):
        @record
        class Bad:
            a: int = 1
            b: int
    with pytest.raises(TypeError, match="non-default field 'b'"):
        @record
        class BadAfterFactory:
            a: dict = default_factory(dict)
            b: int
    with pytest.raises(ValueError, match="cannot start with an underscore: '_a'"):
        @record
        class Private:
            _a: int
