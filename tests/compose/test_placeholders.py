"""Placeholders: the fixed set becomes markers; anything else is refused with its line."""

import pytest

from newsletter.compose.placeholders import (
    BY_PATH,
    PLACEHOLDERS,
    TemplateProblem,
    check_template,
    to_markers,
)


def test_each_placeholder_becomes_its_marker():
    """Every documented placeholder renders to a marker of letters and digits."""
    for placeholder in PLACEHOLDERS:
        rendered = to_markers(f"Hi {placeholder.source}!")
        assert rendered == f"Hi {placeholder.marker}!"
        assert placeholder.marker.isalnum()


def test_spacing_inside_the_braces_does_not_matter():
    """{{subscriber.name}} and {{ subscriber.name }} are the same placeholder."""
    assert to_markers("{{subscriber.name}}") == BY_PATH["subscriber", "name"].marker


def test_text_and_markdown_pass_through_unchanged():
    """Plain text, Markdown and HTML-like characters are not escaped or altered."""
    source = "# Title\n\nA & B <b>x</b> *y* [z](https://example.org/?a=1&b=2)\n"
    assert to_markers(source) == source


@pytest.mark.parametrize(
    "source, line, words",
    [
        ("Hello\n{{ subscriber.age }}", 2, "{{ subscriber.age }} is not a placeholder"),
        ("{{ secret_key }}", 1, "{{ secret_key }} is not a placeholder"),
        ("a\nb\n{% if subscriber.name %}x{% endif %}", 3, "blocks (if, for, set"),
        ("{% for x in range(3) %}{{ x }}{% endfor %}", 1, "blocks (if, for, set"),
        ("{{ subscriber.name | upper }}", 1, "without filters"),
        ("{{ subscriber.name ~ 'x' }}", 1, "without filters"),
        ("one\ntwo {{ subscriber.name", 2, "line 2"),
        ("{{ }}", 1, "line 1"),
        ("{% set x = 1 %}", 1, "blocks (if, for, set"),
    ],
)
def test_anything_else_is_refused_naming_the_line(source, line, words):
    """Unknown names, control flow, filters and syntax errors name the line."""
    with pytest.raises(TemplateProblem) as caught:
        check_template(source)
    message = str(caught.value)
    assert message.startswith(f"Body, line {line}:")
    assert words in message


@pytest.mark.parametrize(
    "attack",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ config.items() }}",
        "{{ self.__init__.__globals__ }}",
        "{{ lipsum.__globals__['os'] }}",
        "{{ request.application.__globals__ }}",
        "{{ subscriber.__class__ }}",
        "{{ subscriber['name'] }}",
        "{% include '/etc/passwd' %}",
        "{% import 'email/issue_default.html' as x %}",
        "{{ joiner()() }}",
    ],
)
def test_template_injection_is_refused_and_never_evaluated(attack):
    """SSTI attempts are a form error, never a render (nothing leaks, nothing runs)."""
    with pytest.raises(TemplateProblem):
        to_markers(f"Hello\n{attack}")


def test_the_subject_is_named_in_its_errors():
    """A problem in the subject says so."""
    with pytest.raises(TemplateProblem, match=r"^Subject, line 1:"):
        check_template("{{ nope }}", "Subject")
