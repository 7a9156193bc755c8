"""User templates cannot run forever or ask for gigabytes (issue 9, section 3): every attack ends
within seconds with a TemplateError naming the template, the line and the limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipe.release.context import build_context
from pipe.release.errors import TemplateError
from pipe.release.sandbox import Limits, load_jinja_template
from tests.unit.test_release_render import LINKS, make_notes

FAST = Limits(seconds=1.0, max_chars=1_000_000, memory_bytes=200 << 20)


def render(tmp_path: Path, source: str, limits: Limits = FAST) -> str:
    (tmp_path / "attack.j2").write_text(source)
    template = load_jinja_template("attack.j2", root=tmp_path, limits=limits)
    return template.render(build_context([make_notes()], links=LINKS))


def refused(tmp_path: Path, source: str, limits: Limits = FAST) -> str:
    with pytest.raises(TemplateError) as caught:
        render(tmp_path, source, limits)
    assert caught.value.template == "attack.j2"
    return str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        "{% for j in range(99999) %}{% endfor %}",  # no output at all: only the clock stops it
        "{% for j in range(99999) %}{{ j }}{% endfor %}",
        "{% set ns = namespace(n=0) %}{% for j in range(99999) %}{% set ns.n = ns.n + 1 %}{% endfor %}",
    ],
)
def test_a_template_that_runs_forever_is_stopped(tmp_path: Path, body: str) -> None:
    message = refused(tmp_path, "{% for i in range(99999) %}" + body + "{% endfor %}", Limits(seconds=1.0))
    assert message.startswith("changelog template attack.j2")  # with its line when stopped inside the template
    assert "rendering took longer than 1 s, the limit for templates" in message


def test_a_recursive_macro_is_stopped(tmp_path: Path) -> None:
    message = refused(tmp_path, "{% macro f(n) %}{{ f(n + 1) }}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")
    assert "line 1" in message


@pytest.mark.parametrize(
    "expression,what",
    [
        ("'x'|center(2**33)", "center would make 8,589,934,592 characters"),
        ("'x'.ljust(2**33)", "str.ljust() would make 8,589,934,592 characters"),
        ("'x'.rjust(2**33)", "str.rjust()"),
        ("'1'.zfill(2**33)", "str.zfill()"),
        ("('\t' * 1000).expandtabs(2**30)", "str.expandtabs()"),
        ("'{:>9999999999}'.format('x')", "str.format()"),
        ("'%9999999999s' % 'x'", "`%` formatting"),
        ("'%*s'|format(9999999999, 'x')", "format would make"),
        ("('a' * 99999)|replace('a', 'b' * 99999)", "replace would make"),
        ("('a' * 99999).replace('a', 'b' * 99999)", "str.replace()"),
        ("([('x' * 99999)] * 99999)|join", "join would make"),
        ("''.join([('x' * 99999)] * 99999)", "str.join()"),
        ("('x\\n' * 50000)|indent(99999)", "indent would make"),
    ],
)
def test_amplifiers_are_refused_before_they_run(tmp_path: Path, expression: str, what: str) -> None:
    message = refused(tmp_path, "{{ " + expression + " }}")
    assert message.startswith("changelog template attack.j2, line 1: not allowed in the sandbox: "), message
    assert what in message and "the limit for templates is 1,000,000" in message


def test_concatenation_is_capped(tmp_path: Path) -> None:
    source = "{% set s = release.version * 20000 %}{{ s + s + s + s + s + s + s + s + s + s + s }}"
    assert "`+` would make 1,100,000 characters" in refused(tmp_path, source)


def test_range_and_lipsum_are_capped(tmp_path: Path) -> None:
    assert "range() of 1,000,000 numbers is too long" in refused(tmp_path, "{{ range(10**6)|length }}")
    assert "lipsum() makes at most 100 paragraphs" in refused(tmp_path, "{{ lipsum(10**6) }}")
    assert render(tmp_path, "{{ range(3)|list }} {{ lipsum(1, html=false)|length > 0 }}").strip() == "[0, 1, 2] True"


def test_output_is_capped(tmp_path: Path) -> None:
    message = refused(tmp_path, "{% for i in range(99999) %}{{ 'x' * 99 }}{% endfor %}")
    assert message.endswith("the output is longer than 1,000,000 characters, the limit for templates")


def test_memory_is_capped(tmp_path: Path) -> None:
    doubling = "{% set ns = namespace(s='x' * 99999) %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
    message = refused(tmp_path, doubling, Limits(seconds=30.0, memory_bytes=200 << 20))
    assert "rendering used more than 200 MiB of memory, the limit for templates" in message


def test_ordinary_templates_are_unaffected(tmp_path: Path) -> None:
    text = render(tmp_path, "{{ release.version|center(11) }}|{{ '%5s'|format('ab') }}|{{ 'a-b'.replace('-', '+') }}")
    assert text == "   2.0.0   |   ab|a+b\n"
