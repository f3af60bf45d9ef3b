"""Putting untrusted text into the Python client's files: string literals, docstrings, comments, TOML.

Text from the API (its title and version, summaries and descriptions, parameter names) lands in
four kinds of places, and each has its own escaping:

- **string literals** (:func:`py_string`): the body of a ``"..."`` literal that holds exactly the
  text — backslash and quote escaped, every control character, line terminator and lone
  surrogate as an escape, other characters as they are (a character outside the BMP stays one
  character: JSON's ``\\ud83c\\udf45`` pair would be two lone surrogates in Python);
- **docstrings** (:func:`docstring`): the body of a ``\"\"\"...\"\"\"`` docstring — the same, except
  that newlines stay newlines (CR and CRLF become one) so the text reads as written;
- **comments** (:func:`comment_text`): one line — a line break becomes a space and every other
  control character a visible ``\\xNN``, so nothing after the ``#`` reaches the next line (a NUL
  would stop Python from compiling the file at all);
- **TOML basic strings** (:func:`toml_string`): TOML's own escapes (``\\uXXXX`` must be a Unicode
  scalar value there, so a surrogate pair is not one; a lone surrogate becomes U+FFFD).
"""

from __future__ import annotations

import re

_CRLF = re.compile(r"\r\n?")
# what Python (str.splitlines) or an editor may show as a line break, beyond \n
_BREAKS = re.compile("\r\n|[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _escape(ch: str) -> str:
    cp = ord(ch)
    if cp < 0x100:
        return f"\\x{cp:02x}"
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def _needs_escape(cp: int) -> bool:
    return cp < 0x20 or 0x7F <= cp < 0xA0 or cp in (0x2028, 0x2029) or 0xD800 <= cp <= 0xDFFF


def py_string(value: str) -> str:
    """The body of a double-quoted Python string literal that holds exactly ``value``.

    >>> py_string('say "hi"\\n\\x00 \\u2028 🍅')
    'say \\\\"hi\\\\"\\\\n\\\\x00 \\\\u2028 🍅'
    """
    out = []
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif _needs_escape(ord(ch)):
            out.append(_escape(ch))
        else:
            out.append(ch)
    return "".join(out)


def docstring(text: str) -> str:
    """Text made safe inside a triple-quoted (not raw) docstring, reading as ``text`` does.

    >>> docstring('Ends with a quote: "x"')
    'Ends with a quote: "x" '
    >>> docstring('a \"\"\" b\\\\')
    'a \\\\"\\\\"\\\\" b\\\\\\\\'
    """
    out = []
    for ch in _CRLF.sub("\n", text).strip():
        if ch == "\\":
            out.append("\\\\")
        elif ch in "\n\t":
            out.append(ch)
        elif _needs_escape(ord(ch)):
            out.append(_escape(ch))
        else:
            out.append(ch)
    text = "".join(out).replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text += " "
    return text


def comment_text(text: str) -> str:
    """``text`` for the rest of one ``#`` comment line.

    >>> comment_text("two\\nlines\\x00")
    'two lines\\\\x00'
    """
    out = []
    for ch in " ".join(_BREAKS.split(text)):
        out.append(_escape(ch) if _needs_escape(ord(ch)) and ch != "\t" else ch)
    return "".join(out)


def toml_string(value: str) -> str:
    """The body of a TOML basic string (``"..."``) that holds ``value``.

    >>> toml_string('a "b" \\\\ \\n 🍅')
    'a \\\\"b\\\\" \\\\\\\\ \\\\n 🍅'
    """
    out = []
    for ch in value:
        cp = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif 0xD800 <= cp <= 0xDFFF:
            out.append("\ufffd")  # not a Unicode scalar value: TOML (UTF-8) cannot hold it
        elif cp < 0x20 or cp == 0x7F or 0x80 <= cp < 0xA0 or cp in (0x2028, 0x2029):
            out.append(f"\\u{cp:04X}")
        else:
            out.append(ch)
    return "".join(out)


__all__ = ["comment_text", "docstring", "py_string", "toml_string"]
