"""Putting untrusted text into TypeScript source: identifiers, string literals, comments.

Text from the user's code (docstrings, descriptions, enum values, aliases, class names) lands
in three kinds of places, and each has its own escaping — never HTML escaping:

- **string literals** (:func:`ts_string`): JSON escaping plus ``\\u2028``/``\\u2029``, lone
  surrogates and every control character as ``\\uXXXX``, so the literal is pure printable text
  inside double quotes (a backtick or ``${`` is inert there);
- **comments** (:func:`doc_comment`, :func:`line_comment`): ``*/`` cannot close the comment,
  line terminators (CR, LF, U+2028, U+2029) become real line breaks of the comment, NUL and
  other control characters become visible ``\\uXXXX`` text, and a ``@word`` that TypeScript
  would read as a JSDoc tag is written ``\\@word`` (the TSDoc escape);
- **identifiers** (:func:`ts_identifier`, :func:`property_key`): a name that is a reserved
  word or not an identifier is sanitised deterministically (``string`` → ``string_``); a
  property key that is not an identifier is quoted (``"2fa"``).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable

# ECMAScript reserved words, strict-mode reserved words, and words a declaration name may not be
# in TypeScript (predefined type names, contextual keywords that start declarations).
RESERVED: frozenset[str] = frozenset(
    """
    break case catch class const continue debugger default delete do else enum export extends false
    finally for function if import in instanceof new null return super switch this throw true try
    typeof var void while with yield let static implements interface package private protected
    public await arguments eval
    any boolean never number object string symbol undefined unknown bigint
    type declare namespace module abstract as async from of get set readonly keyof infer is
    asserts unique global require satisfies accessor override out constructor
    """.split()
)

_ASCII_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_LINE_BREAKS = re.compile("\r\n|[\r\n\u2028\u2029\x85]")
_TAG_AT = re.compile(r"(^|(?<=\s))@(?=[A-Za-z])")


def _is_identifier(name: str) -> bool:
    """A JavaScript IdentifierName (ASCII fast path; else Unicode ID_Start/ID_Continue, as Python's)."""
    if _ASCII_IDENT.fullmatch(name):
        return True
    if not name or unicodedata.normalize("NFKC", name) != name:
        return False
    # Python identifiers use XID_Start/XID_Continue, a subset of JavaScript's ID_Start/ID_Continue.
    return name.isidentifier()


def ts_identifier(name: str) -> str:
    """A deterministic, valid TypeScript declaration name for ``name``.

    >>> ts_identifier("Product"), ts_identifier("string"), ts_identifier("content-type"), ts_identifier("2fa")
    ('Product', 'string_', 'content_type', '_2fa')
    """
    if _is_identifier(name) and name not in RESERVED:
        return name
    out = []
    for ch in unicodedata.normalize("NFKC", name):
        out.append(ch if _is_identifier("a" + ch) and ch != "$" else "_")
    s = "".join(out) or "_"
    if not _is_identifier(s):
        s = "_" + s
    while s in RESERVED:
        s += "_"
    return s


def property_key(name: str) -> str:
    """An object/interface property key: bare when it is an identifier, else a string literal.

    Reserved words are valid bare property names in TypeScript (``default: boolean``).

    >>> property_key("name"), property_key("2fa"), property_key("content-type"), property_key("class")
    ('name', '"2fa"', '"content-type"', 'class')
    """
    if _ASCII_IDENT.fullmatch(name):
        return name
    return ts_string(name)


def ts_string(value: str) -> str:
    """A double-quoted TypeScript string literal that holds exactly ``value``.

    >>> ts_string('say "hi" `${x}` \\u2028')
    '"say \\\\"hi\\\\" `${x}` \\\\u2028"'
    """
    out = []
    for ch in json.dumps(value, ensure_ascii=False)[1:-1]:
        cp = ord(ch)
        if cp < 0x20 or cp == 0x7F or 0x80 <= cp < 0xA0 or cp in (0x2028, 0x2029) or 0xD800 <= cp <= 0xDFFF:
            out.append(f"\\u{cp:04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _visible(line: str) -> str:
    out = []
    for ch in line:
        cp = ord(ch)
        if ch == "\t":
            out.append(" ")
        elif cp < 0x20 or cp == 0x7F or 0x80 <= cp < 0xA0 or 0xD800 <= cp <= 0xDFFF:
            out.append(f"\\u{cp:04x}")
        else:
            out.append(ch)
    return "".join(out)


def comment_lines(text: str) -> list[str]:
    """``text`` as safe comment lines (no terminator inside a line, ``*/`` broken, tags escaped)."""
    lines = [_visible(line).rstrip() for line in _LINE_BREAKS.split(text)]
    lines = [line.replace("*/", "*\\/") for line in lines]
    lines = [_TAG_AT.sub(r"\\@", line) for line in lines]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def doc_comment(text: str | None, tags: Iterable[tuple[str, str]] = (), indent: str = "") -> str:
    """A JSDoc block (``/** ... */``) of ``text`` and ``(tag, value)`` pairs, or ``""`` if empty.

    Tag values are escaped like text; a tag's own ``@`` is the only one left unescaped.

    >>> doc_comment("A */ trap", [("deprecated", "")])
    '/**\\n * A *\\\\/ trap\\n *\\n * @deprecated\\n */'
    """
    body = comment_lines(text or "")
    tag_lines: list[str] = []
    for tag, value in tags:
        value_lines = comment_lines(value) if value else []
        first = f"@{tag}" + (f" {value_lines[0].lstrip()}" if value_lines else "")
        tag_lines.append(first)
        tag_lines.extend(value_lines[1:])
    if body and tag_lines:
        body.append("")
    body.extend(tag_lines)
    if not body:
        return ""
    if len(body) == 1 and len(body[0]) + len(indent) < 100:
        return f"{indent}/** {body[0]} */"
    inner = "\n".join(f"{indent} *" + (f" {line}" if line else "") for line in body)
    return f"{indent}/**\n{inner}\n{indent} */"


def line_comment(text: str) -> str:
    """A single ``//`` comment line (line terminators in ``text`` become spaces)."""
    return "// " + " ".join(_visible(part) for part in _LINE_BREAKS.split(text))
