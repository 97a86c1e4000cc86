"""Everything sopgate prints into a CI log goes through here.

A CI log is an input channel: the GitHub Actions runner reads ``::command::`` lines (and the
older ``##[command]`` form) from a step's output, and terminals obey escape sequences. Text
that sopgate prints may quote people (a ``/sop reject`` reason, a check's name, a file path),
so every line is cleaned: control characters (CR included, which the runner reads as a new
line) become spaces, a line cannot start a workflow command, and ``##[`` is broken up.
sopgate's own annotations are built by the GitHub publisher with escaped data and printed
through :func:`annotation`.
"""

from __future__ import annotations

import re

import click

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_COMMAND_START = re.compile(r"^(\s*):(?=:)")
_COMMAND_LINE = re.compile(r"^([ \t]*):(?=:)", re.M)
_XML_RAW = re.compile(r"[\r\x7f-\x9f\u2028\u2029]")
_OWN_ANNOTATION = re.compile(r"^::(error|warning|notice) [^\r\n]*$")


def clean_line(line: str) -> str:
    """One line made inert: no control characters, no workflow command."""
    line = _CONTROL.sub(" ", line.replace("\t", "    "))
    line = _COMMAND_START.sub(r"\1: ", line)
    return line.replace("##[", "## [")


def clean(text: str) -> str:
    """Every line of ``text`` cleaned (line breaks kept: \\n, \\r\\n and a lone \\r)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(clean_line(line) for line in lines)


def say(text: str, *, err: bool = False, nl: bool = True) -> None:
    """Print ``text`` cleaned, on stdout or (``err``) stderr."""
    click.echo(clean(text), err=err, nl=nl)


def machine(text: str, fmt: str) -> str:
    """JSON or JUnit output made inert without changing its meaning: ``##[`` is written
    with an escape of the format. JSON never has a raw control character or a line that
    starts with ``::``; XML text keeps line breaks, so a text line that would start a
    workflow command starts with the character reference ``&#58;`` instead, and a carriage
    return (a line break to the runner) and the C1 controls XML allows are written as
    character references."""
    if fmt == "json":
        return text.replace("##[", "#\\u0023[")
    if fmt == "junit":
        text = _XML_RAW.sub(lambda m: f"&#{ord(m.group())};", text.replace("##[", "##&#91;"))
        return _COMMAND_LINE.sub(r"\1&#58;", text)
    return clean(text)


def annotation(line: str, *, err: bool = False) -> None:
    """Print one of sopgate's own ``::error``/``::warning``/``::notice`` lines on stdout (or,
    ``err``, on stderr, where the runner reads workflow commands too); anything else (or a
    line with a break in it) is printed cleaned, as plain text."""
    if _OWN_ANNOTATION.match(line) and not _CONTROL.search(line):
        click.echo(line, err=err)
    else:
        say(line, err=err)
