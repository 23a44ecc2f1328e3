"""Go's text/template as Docker's --format takes it, tested as a grammar:
each case is a template, the data, and what Go (text/template, fmt) and
docker/cli (templates.go functions) print for it, from their
documentation and behaviour."""

import pytest

from rs_docker.cli.gotemplate import ExecError, ParseError, Struct, Template
from rs_docker.cli.gotemplate.funcs import Func

DATA = {
    "Name": "web", "Id": "abc123", "Count": 3, "Zero": 0, "Ratio": 1.5, "Big": 1e6,
    "On": True, "Off": False, "Nil": None, "Empty": "", "EmptyList": [], "EmptyMap": {},
    "List": ["a", "b", "c"], "Nums": [3, 1, 2],
    "Labels": {"b": "2", "a": "1", "com.x": "y"},
    "Nested": {"Inner": {"Deep": "down"}, "Items": [{"N": 1}, {"N": 2}]},
    "Html": "<a href='x'>&\"</a>", "Spaces": "hello world", "Path": "/usr/bin",
    "Config": {"Env": ["A=1", "B=2"], "Cmd": None, "Labels": {}},
}

CASES = [
    # text and actions
    ("plain text", "plain text"),
    ("{{.Name}}", "web"),
    ("{{ .Name }}", "web"),
    ("{{.Count}}", "3"),
    ("{{.Ratio}}", "1.5"),
    ("{{.Big}}", "1e+06"),
    ("{{.On}} {{.Off}}", "true false"),
    ("{{.Nil}}", "<nil>"),
    ("{{.Missing}}", "<no value>"),
    ("{{.Missing.Deeper}}", "<no value>"),
    ("{{.List}}", "[a b c]"),
    ("{{.Nums}}", "[3 1 2]"),
    ("{{.Labels}}", "map[a:1 b:2 com.x:y]"),
    ("{{.EmptyList}} {{.EmptyMap}}", "[] map[]"),
    ("{{.Nested.Inner.Deep}}", "down"),
    ("{{.Nested.Items}}", "[map[N:1] map[N:2]]"),
    ("{{.}}", None),  # filled below: the whole map
    ("{{.Config.Cmd}}", "<nil>"),
    # comments and trim markers
    ("a{{/* a comment */}}b", "ab"),
    ("a {{- /* trimmed */ -}} b", "ab"),
    ("a  {{- .Name}}", "aweb"),
    ("{{.Name -}}  \n  b", "webb"),
    ("x {{- .Name -}} y", "xweby"),
    ("{{- .Name}}", "web"),
    ("{{3 -}} 4", "34"),
    # literals
    ('{{"quoted\\tstring"}}', "quoted\tstring"),
    ("{{`raw \\t string`}}", "raw \\t string"),
    ("{{'a'}}", "97"),
    ("{{1.0}}", "1"),
    ("{{0x1F}}", "31"),
    ("{{-5}}", "-5"),
    ("{{1e3}}", "1000"),
    ("{{true}}", "true"),
    ("{{1_000}}", "1000"),
    # variables
    ("{{$x := .Name}}{{$x}}", "web"),
    ("{{$x := 1}}{{$x = 2}}{{$x}}", "2"),
    ("{{$}}", None),
    ("{{range .List}}{{$.Name}}{{end}}", "webwebweb"),
    ("{{with $x := .Nested}}{{$x.Inner.Deep}}{{end}}", "down"),
    ("{{$l := .Labels}}{{$l.a}}", "1"),
    # range
    ("{{range .List}}[{{.}}]{{end}}", "[a][b][c]"),
    ("{{range $i, $e := .List}}{{$i}}={{$e}} {{end}}", "0=a 1=b 2=c "),
    ("{{range $e := .List}}{{$e}}{{end}}", "abc"),
    ("{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}", "a=1;b=2;com.x=y;"),
    ("{{range .Labels}}{{.}}{{end}}", "12y"),
    ("{{range .EmptyList}}x{{else}}none{{end}}", "none"),
    ("{{range .Missing}}x{{else}}none{{end}}", "none"),
    ("{{range .Nil}}x{{else}}nil{{end}}", "nil"),
    ("{{range .Nested.Items}}{{.N}}{{end}}", "12"),
    ("{{range 3}}{{.}}{{end}}", "012"),
    ("{{range .List}}{{if eq . \"b\"}}{{break}}{{end}}{{.}}{{end}}", "a"),
    ("{{range .List}}{{if eq . \"b\"}}{{continue}}{{end}}{{.}}{{end}}", "ac"),
    ("{{range .Config.Env}}{{println .}}{{end}}", "A=1\nB=2\n"),
    # if / else if / with
    ("{{if .On}}yes{{end}}", "yes"),
    ("{{if .Off}}yes{{else}}no{{end}}", "no"),
    ("{{if .Zero}}y{{else if .Count}}count{{else}}n{{end}}", "count"),
    ("{{if .Empty}}y{{else if .Nil}}n{{else}}neither{{end}}", "neither"),
    ("{{if .Missing}}y{{else}}n{{end}}", "n"),
    ("{{if .EmptyMap}}y{{else}}n{{end}}", "n"),
    ("{{if .List}}y{{end}}", "y"),
    ("{{with .Nested.Inner}}{{.Deep}}{{end}}", "down"),
    ("{{with .Empty}}x{{else}}empty{{end}}", "empty"),
    ("{{with .Missing}}x{{else with .Name}}{{.}}{{end}}", "web"),
    # comparisons and logic
    ("{{eq .Name \"web\"}}", "true"),
    ("{{eq .Count 1 2 3}}", "true"),
    ("{{eq .Count 1 2}}", "false"),
    ("{{ne .Name \"db\"}}", "true"),
    ("{{lt 1 2}} {{le 2 2}} {{gt 1 2}} {{ge 2 3}}", "true true false false"),
    ("{{lt \"a\" \"b\"}}", "true"),
    ("{{lt 1.5 2.5}}", "true"),
    ("{{and 1 0}}", "0"),
    ("{{and 1 2}}", "2"),
    ("{{or 0 \"\" .Name}}", "web"),
    ("{{or 0 \"\"}}", ""),
    ("{{not .On}} {{not .Empty}}", "false true"),
    ("{{if and .On (eq .Count 3)}}both{{end}}", "both"),
    ("{{if or .Off .Missing}}y{{else}}n{{end}}", "n"),
    ("{{eq .Missing \"x\"}}", "false"),
    # len, index, slice
    ("{{len .List}} {{len .Labels}} {{len .Name}}", "3 3 3"),
    ("{{len \"héllo\"}}", "6"),
    ("{{index .List 1}}", "b"),
    ("{{index .Labels \"com.x\"}}", "y"),
    ("{{index .Labels \"nope\"}}", ""),
    ("{{index .Nested.Items 1 \"N\"}}", "2"),
    ("{{(index .Nested.Items 0).N}}", "1"),
    ("{{slice .Name 1}}", "eb"),
    ("{{slice .Name 0 2}}", "we"),
    ("{{slice .List 1 3}}", "[b c]"),
    # print, printf, println
    ("{{print .Name .Count}}", "web3"),
    ("{{print 1 2}}", "1 2"),
    ("{{print \"a\" 1 2 \"b\"}}", "a1 2b"),
    ("{{println .Name .Count}}", "web 3\n"),
    ("{{printf \"%s-%d\" .Name .Count}}", "web-3"),
    ("{{printf \"%v\" .List}}", "[a b c]"),
    ("{{printf \"%q\" .Name}}", "\"web\""),
    ("{{printf \"%t\" .On}}", "true"),
    ("{{printf \"%x %X\" 255 255}}", "ff FF"),
    ("{{printf \"%x\" \"hi\"}}", "6869"),
    ("{{printf \"%-10s|\" .Name}}", "web       |"),
    ("{{printf \"%10s|\" .Name}}", "       web|"),
    ("{{printf \"%5.2f\" .Ratio}}", " 1.50"),
    ("{{printf \"%05d\" 42}}", "00042"),
    ("{{printf \"%+d\" 42}}", "+42"),
    ("{{printf \"%o %b\" 8 5}}", "10 101"),
    ("{{printf \"%c\" 65}}", "A"),
    ("{{printf \"%e\" 1234.5678}}", "1.234568e+03"),
    ("{{printf \"%g\" 0.00001}}", "1e-05"),
    ("{{printf \"%.3s\" .Spaces}}", "hel"),
    ("{{printf \"%d%%\" 50}}", "50%"),
    ("{{printf \"%d\" .Name}}", "%!d(string=web)"),
    ("{{printf \"%s\" .Count}}", "%!s(int=3)"),
    ("{{printf \"%s %s\" .Name}}", "web %!s(MISSING)"),
    ("{{printf \"%s\" .Name .Count}}", "web%!(EXTRA int=3)"),
    ("{{printf \"%v\" .Labels}}", "map[a:1 b:2 com.x:y]"),
    ("{{printf \"%*d\" 4 7}}", "   7"),
    ("{{.Count | printf \"%03d\"}}", "003"),
    ("{{printf \"%T\" 1}}", "%!T(int=1)"),
    # html, js, urlquery
    ("{{html .Html}}", "&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;"),
    ("{{js .Html}}", "\\u003Ca href\\u003D\\'x\\'\\u003E\\u0026\\\"\\u003C/a\\u003E"),
    ("{{urlquery .Spaces \"&\"}}", "hello+world%26"),
    ("{{urlquery .Path}}", "%2Fusr%2Fbin"),
    # Docker's functions
    ("{{json .List}}", "[\"a\",\"b\",\"c\"]"),
    ("{{json .Name}}", "\"web\""),
    ("{{json .Html}}", "\"<a href='x'>&\\\"</a>\""),
    ("{{json .Labels}}", "{\"a\":\"1\",\"b\":\"2\",\"com.x\":\"y\"}"),
    ("{{json .Nil}}", "null"),
    ("{{json .Big}}", "1000000"),
    ("{{json .Config}}", "{\"Env\":[\"A=1\",\"B=2\"],\"Cmd\":null,\"Labels\":{}}"),
    ("{{join .List \", \"}}", "a, b, c"),
    ("{{join .Config.Env \" \"}}", "A=1 B=2"),
    ("{{split \"a:b:c\" \":\"}}", "[a b c]"),
    ("{{index (split .Path \"/\") 1}}", "usr"),
    ("{{title .Spaces}}", "Hello World"),
    ("{{title \"foo-bar_baz\"}}", "Foo-Bar_baz"),
    ("{{upper .Name}} {{lower \"ABC\"}}", "WEB abc"),
    ("{{.Name | upper}}", "WEB"),
    ("{{pad .Name 2 1}}|", "  web |"),
    ("{{pad .Empty 2 1}}|", "|"),
    ("{{truncate .Spaces 5}}", "hello"),
    ("{{truncate .Name 10}}", "web"),
    ("{{.Name | upper | printf \"%s!\"}}", "WEB!"),
    # parenthesized pipelines, chains
    ("{{(.Nested).Inner.Deep}}", "down"),
    ("{{printf \"%d\" (len .List)}}", "3"),
    ("{{(printf \"%s\" .Name) | len}}", "3"),
    # define / template / block
    ("{{define \"T\"}}<{{.}}>{{end}}{{template \"T\" .Name}}", "<web>"),
    ("{{define \"T\"}}x{{end}}{{template \"T\"}}{{template \"T\"}}", "xx"),
    ("{{block \"B\" .Count}}[{{.}}]{{end}}", "[3]"),
    ("{{define \"T\"}}{{.Inner.Deep}}{{end}}{{template \"T\" .Nested}}", "down"),
]


@pytest.mark.parametrize("template,expected", CASES, ids=[c[0][:40] for c in CASES])
def test_template_output(template, expected):
    if expected is None:
        # {{.}} and {{$}} print the data as fmt prints a map: keys sorted
        assert Template(template).execute({"b": 2, "a": [1]}) == "map[a:[1] b:2]"
        return
    assert Template(template).execute(DATA) == expected


def test_the_table_has_more_than_100_cases():
    assert len(CASES) >= 100


ERRORS = [
    # Go's parse errors
    ("{{.Name", "template: :1: unclosed action"),
    ("{{nope .Name}}", "template: :1: function \"nope\" not defined"),
    ("{{if .On}}x", "template: :1: unexpected EOF"),
    ("{{end}}", "template: :1: unexpected {{end}}"),
    ("{{else}}", "template: :1: unexpected {{else}}"),
    ("{{$x}}", "template: :1: undefined variable \"$x\""),
    ("{{}}", "template: :1: missing value for command"),
    ("{{if}}{{end}}", "template: :1: missing value for if"),
    ("{{.Name | 3}}", "template: :1: non executable command in pipeline stage 2"),
    ("{{/* open", "template: :1: unclosed comment"),
    ("a\n{{.X", "template: :2: unclosed action"),
    ("{{break}}", "template: :1: {{break}} outside {{range}}"),
    ('{{"open}}', "template: :1: unterminated quoted string"),
]


@pytest.mark.parametrize("template,message", ERRORS)
def test_parse_errors(template, message):
    with pytest.raises(ParseError) as e:
        Template(template)
    assert str(e.value) == message


EXEC_ERRORS = [
    ("{{.Foo}}", "error",
     "template: :1:2: executing \"\" at <.Foo>: map has no entry for key \"Foo\""),
    ("x\n  {{.Nested.Nope}}", "error",
     "template: :2:4: executing \"\" at <.Nested.Nope>: map has no entry for key \"Nope\""),
    ("{{.Name.Sub}}", "default",
     "template: :1:2: executing \"\" at <.Name.Sub>: can't evaluate field Sub in type string"),
    ("{{.Nil.Sub}}", "default",
     "template: :1:2: executing \"\" at <.Nil.Sub>: nil pointer evaluating interface {}.Sub"),
    ("{{index .List 5}}", "default",
     "template: :1:2: executing \"\" at <index>: error calling index: index out of range: 5"),
    ("{{len .Count}}", "default",
     "template: :1:2: executing \"\" at <len>: error calling len: len of type int"),
    ("{{lt .Name 1}}", "default",
     "template: :1:2: executing \"\" at <lt>: error calling lt: incompatible types for "
     "comparison"),
    ("{{upper .Count}}", "default",
     "template: :1:8: executing \"\" at <.Count>: wrong type for value; expected string; "
     "got int"),
    ("{{upper 1}}", "default",
     "template: :1:8: executing \"\" at <1>: expected string; found 1"),
    ("{{not 1 2}}", "default",
     "template: :1:2: executing \"\" at <not>: wrong number of args for not: want 1 got 2"),
    ("{{template \"nope\"}}", "default",
     "template: :1:11: executing \"\" at <{{template \"nope\"}}>: template \"nope\" not "
     "defined"),
    ("{{range .Name}}{{end}}", "default",
     "template: :1:8: executing \"\" at <.Name>: range can't iterate over web"),
    ("{{.Name 1}}", "default",
     "template: :1:2: executing \"\" at <.Name>: Name is not a method but has arguments"),
]


@pytest.mark.parametrize("template,missingkey,message", EXEC_ERRORS)
def test_exec_errors(template, missingkey, message):
    with pytest.raises(ExecError) as e:
        Template(template, missingkey=missingkey).execute(DATA)
    assert str(e.value) == message


def row():
    labels = {"com.example": "v"}
    return Struct({"ID": "abc", "Names": "web"}, "*formatter.ContainerContext",
                  {"Label": Func(lambda k: labels.get(k, ""), ("string",))})


def test_struct_rows_have_methods_and_refuse_unknown_fields():
    assert Template('{{.Names}} {{.Label "com.example"}}|{{.Label "x"}}|').execute(row()) \
        == "web v||"
    with pytest.raises(ExecError) as e:
        Template("{{.Foo}}").execute(row())
    assert str(e.value) == ("template: :1:2: executing \"\" at <.Foo>: can't evaluate field "
                            "Foo in type *formatter.ContainerContext")
    with pytest.raises(ExecError) as e:
        Template("{{.Label}}").execute(row())
    assert "wrong number of args for Label: want 1 got 0" in str(e.value)


def test_a_missing_key_of_a_map_field_is_no_value_even_with_missingkey_error():
    doc = {"Config": {"Labels": {"a": "1"}}, "NetworkSettings": {"Networks": {}}}
    strict = {"missingkey": "error", "map_fields": frozenset({"Labels", "Networks"})}
    assert Template("{{.Config.Labels.b}}", **strict).execute(doc) == "<no value>"
    assert Template("{{.NetworkSettings.Networks.x.IPAddress}}", **strict).execute(doc) == \
        "<no value>"
    with pytest.raises(ExecError) as e:
        Template("{{.Config.Nope}}", **strict).execute(doc)
    assert str(e.value).endswith('map has no entry for key "Nope"')


def test_output_before_an_error_is_kept_for_the_caller():
    with pytest.raises(ExecError) as e:
        Template("ab{{.Foo}}", missingkey="error").execute({})
    assert e.value.partial == "ab"
