"""Escaping for the place text lands: string literals, comments, identifiers, property keys.

Checked against the real TypeScript parser: a hostile string must come back unchanged from a
string literal, must not add statements or JSDoc tags from inside a comment, and every name
must parse as one identifier.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from codegen.typescript import doc_comment, line_comment, property_key, ts_identifier, ts_string
from codegen.typescript.text import RESERVED

from .helpers import probe

HOSTILE = [
    "plain",
    'say "hi"',
    "it's",
    "`backticks` and ${template} holes",
    "*/ export const pwned = 1; /*",
    "**/",
    "/* nested */",
    "line\nbreak",
    "carriage\rreturn",
    "sep\u2028ara\u2029tors",
    "nul\x00byte",
    "bell\x07 and \x1b[31mescape",
    "back\\slash \\u0041",
    "\\",
    "@deprecated at the start",
    "mid @param x text",
    "unicode: café ✓ 🍅",
    "lone surrogate \ud800 here",
    "</script><!--",
    "",
]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Product", "Product"),
        ("string", "string_"),
        ("interface", "interface_"),
        ("default", "default_"),
        ("unknown", "unknown_"),
        ("content-type", "content_type"),
        ("2fa", "_2fa"),
        ("a b", "a_b"),
        ("", "_"),
        ("café", "café"),
        ("x\u2028y", "x_y"),
        ("$ref", "$ref"),
        ("a.b", "a_b"),
    ],
)
def test_identifiers_are_sanitised_deterministically(name: str, expected: str) -> None:
    assert ts_identifier(name) == expected
    assert ts_identifier(name) == ts_identifier(name)


@pytest.mark.parametrize("word", sorted(RESERVED))
def test_reserved_words_never_survive_as_declaration_names(word: str) -> None:
    assert ts_identifier(word) not in RESERVED


@pytest.mark.parametrize(
    ("key", "expected"),
    [("name", "name"), ("_id", "_id"), ("class", "class"), ("2fa", '"2fa"'), ("content-type", '"content-type"'),
     ('we"ird', '"we\\"ird"'), ("a\u2028b", '"a\\u2028b"')],
)
def test_property_keys_are_quoted_when_not_identifiers(key: str, expected: str) -> None:
    assert property_key(key) == expected


def test_line_comment_stays_on_one_line() -> None:
    text = line_comment("from a\nb\u2028c\r\nd.py")
    assert text.startswith("// ") and "\n" not in text and "\u2028" not in text and "\r" not in text


def _probe_file(tmp_path: Path, values: list[str]) -> dict:
    lines = []
    for i, s in enumerate(values):
        lines.append(doc_comment(s, [("deprecated", s), ("default", s)]) or "/** */")
        lines.append(f"export const v{i} = {ts_string(s)};")
        lines.append(doc_comment(s, indent=""))
        lines.append(f"export interface I{i} {{ {property_key(s or 'empty')}: string }}")
        lines.append(line_comment(s))
        lines.append(f"export type {ts_identifier(s)}_{i} = string;")
    path = tmp_path / "hostile.ts"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")  # strict: no raw surrogate may get through
    return probe(path)[str(path)]


def test_hostile_text_round_trips_through_the_typescript_parser(tmp_path: Path) -> None:
    result = _probe_file(tmp_path, HOSTILE)
    assert result["diagnostics"] == []
    decls = result["declarations"]
    # nothing was injected: exactly the three declarations per string, in order
    names = [d["name"] for d in decls]
    expected = []
    for i, s in enumerate(HOSTILE):
        expected += [f"v{i}", f"I{i}", f"{ts_identifier(s)}_{i}"]
    assert names == expected
    for i, s in enumerate(HOSTILE):
        assert result["values"][f"v{i}"] == s, (i, s)
        interface = decls[3 * i + 1]
        assert [m["name"] for m in interface["members"]] == [s or "empty"]
        # the only tags are the two we wrote: text cannot forge one
        const = decls[3 * i]
        assert [t[0] for t in const["tags"]] == ["deprecated", "default"]
        assert [t[0] for t in interface["tags"]] == []


def test_doc_comment_shapes() -> None:
    assert doc_comment(None) == ""
    assert doc_comment("one line") == "/** one line */"
    assert doc_comment("a\n\n\nb\n") == "/**\n * a\n *\n *\n * b\n */"
    assert doc_comment("text", [("format", "uuid")], indent="  ") == "  /**\n   * text\n   *\n   * @format uuid\n   */"
