"""rs_docker.jsonio reads and writes what the json package does."""

from __future__ import annotations

import json
import math

import pytest

from rs_docker import jsonio

VALUES = [
    {}, [], "", 0, -1, 2**70, 1.5, -0.0, 1e300, True, False, None,
    {"a": [1, 2.25, {"b": None}], "é": "ü\u2028\x00\"\\/", "nested": {"x": [[], {}]}},
    ["\ud83d\ude00 emoji", "tab\tnew\nline", "ctl\x1f"],
    {"Config": {"Env": ["PATH=/usr/bin"], "Cmd": ["sh", "-c", "echo hi"]}, "n": 12345678901},
]


@pytest.mark.parametrize("value", VALUES)
def test_dumps_is_json_dumps(value):
    assert jsonio.dumps(value) == json.dumps(value, separators=(",", ":"))
    assert jsonio.dumps(value, compact=False) == json.dumps(value)
    assert jsonio.dumps(value, sort_keys=True) == json.dumps(value, separators=(",", ":"),
                                                               sort_keys=True)


@pytest.mark.parametrize("value", VALUES)
def test_loads_reads_json_text_back(value):
    for text in (json.dumps(value), json.dumps(value, indent=2), " \n" + json.dumps(value) + "\n\t"):
        assert jsonio.loads(text) == json.loads(text)
        assert jsonio.loads(text.encode()) == json.loads(text)


def test_constants_and_numbers_as_json_reads_them():
    got = jsonio.loads('[NaN, Infinity, -Infinity, 1E2, 10, -3.5e-1]')
    assert math.isnan(got[0]) and got[1:3] == [math.inf, -math.inf]
    assert got[3:] == [100.0, 10, -0.35] and isinstance(got[4], int)


@pytest.mark.parametrize("text", ["", "   ", "{", "[1,]", '{"a" 1}', "[1] [2]", "nul",
                                  '"unterminated', '{"a":1}x', "\x00"])
def test_bad_json_is_a_value_error(text):
    with pytest.raises(ValueError):
        json.loads(text)  # the oracle agrees it is bad
    with pytest.raises(ValueError):
        jsonio.loads(text)


def test_what_json_cannot_encode_is_refused_and_the_next_call_still_works():
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="[Cc]ircular"):
        jsonio.dumps(loop)
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        jsonio.dumps({"a": {1, 2}})
    shared = [1]
    assert jsonio.dumps([shared, shared]) == "[[1],[1]]"


def test_importing_it_does_not_import_re():
    import subprocess
    import sys

    code = "import sys, rs_docker.jsonio; print('re' in sys.modules, 'json' in sys.modules)"
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": ":".join(sys.path)}, check=True).stdout
    assert out.split() == ["False", "False"]
