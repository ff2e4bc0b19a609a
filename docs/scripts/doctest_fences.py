"""Griffe extension: show docstring doctests as Python console code blocks.

The package writes its examples as Keras does, an ``Example:`` line and
then unindented ``>>>`` lines. The Google-style parser keeps such lines as
plain text, where Markdown would read ``>>>`` as nested quotes and
``[...]`` as links. This extension wraps every doctest (its ``>>>`` and
``...`` lines and the output after them, up to a blank line) in a
``pycon`` fence, and drops ``# doctest:`` directives, which are meant for
the test runner only.

mkdocs.yml loads it by path, as an extension of the mkdocstrings Python
handler.
"""

from __future__ import annotations

import re

import griffe

_PROMPT = re.compile(r"^(>>>|\.\.\.)( |$)")
_DIRECTIVE = re.compile(r"\s*# doctest:.*$")


def fence_doctests(text: str) -> str:
    """Return ``text`` with each run of doctest lines inside a code fence.

    Args:
        text: A docstring, already dedented.

    Returns:
        The same text, with ``pycon`` fences around the doctests.
    """
    lines = text.split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        if not lines[index].startswith(">>>"):
            out.append(lines[index])
            index += 1
            continue
        block = []
        while index < len(lines) and lines[index].strip():
            line = lines[index]
            block.append(_DIRECTIVE.sub("", line) if _PROMPT.match(line) else line)
            index += 1
        out += ["```pycon", *block, "```"]
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """Rewrite each loaded object's docstring with `fence_doctests`."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
