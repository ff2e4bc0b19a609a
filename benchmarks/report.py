"""Where a benchmark's result goes: JSON for tools, markdown for people.

Each script writes ``<name>_<backend>.json`` and ``<name>_<backend>.md``
into its ``--out`` folder, one pair per backend.
"""

from __future__ import annotations

import json
import pathlib

import keras


def publish(out: pathlib.Path | None, name: str, result: dict, markdown: str) -> None:
    """Print the markdown; with ``out``, write it and ``result`` there too.

    Args:
        out: The results folder (created if missing), or None to only print.
        name: The benchmark's name, e.g. ``"sinusoidal"``.
        result: The JSON-serializable result.
        markdown: The result as a markdown table with its notes.
    """
    print(markdown)
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{name}_{keras.backend.backend()}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown + "\n")
    print(f"wrote {stem}.json and {stem}.md")
