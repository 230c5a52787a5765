"""Rewrite action.yml's inputs and the two inputs tables from drift/config.py's FIELDS.

    python tools/sync_inputs.py

docs/inputs.md holds the full table (each description is the setting's help); the README's short
table keeps its hand-written one-line descriptions, and a new input gets its help's first sentence
there (shorten it by hand). tests/test_meta.py fails when these disagree; this makes them agree.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from drift.config import FIELDS  # noqa: E402


def action_inputs() -> str:
    lines = ["inputs:"]
    for f in FIELDS:
        description = f.help
        if f.scope in ("run", "gate"):
            shown = f"`{f.default}`" if f.default not in ("", ()) else "empty"
            description += f" Default: {shown} (an empty input leaves it to the config file)."
            default = ""
        else:
            default = "" if f.default in ("", ()) else str(f.default)
        lines += [f"  {f.name}:", "    description: >-"]
        lines += [f"      {line}" for line in textwrap.wrap(description, 96, break_on_hyphens=False)]
        lines += [f"    required: {'true' if f.name == 'path' else 'false'}", f"    default: '{default}'"]
    return "\n".join(lines) + "\n"


HEADER = "| Input | Default | Where | {} |\n|---|---|---|---|\n"
README_HEADER, DOCS_HEADER = HEADER.format("What"), HEADER.format("Description")
TABLE_ROWS = r"(?:\| `.*\n)*"


def rows(describe: dict[str, str]) -> str:
    out = []
    for f in FIELDS:
        default = "(required)" if f.name == "path" else (f"`{f.default}`" if f.default not in ("", ()) else "–")
        where = {"run": "per run", "gate": "file or input", "input": "input only"}[f.scope]
        text = (describe.get(f.name) or f.help).replace("\\|", "|").replace("|", "\\|")  # a bare | ends a cell
        out.append(f"| `{f.name}` | {default} | {where} | {text} |")
    return "\n".join(out) + "\n"


def _short_descriptions(readme: str) -> dict[str, str]:
    table = re.search(re.escape(README_HEADER) + TABLE_ROWS, readme)
    cells = [re.split(r"(?<!\\)\|", row)[1:-1] for row in (table.group(0) if table else "").splitlines()[2:]]
    return {cell[0].strip().strip("`"): cell[3].strip().replace("\\|", "|") for cell in cells}


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.)])\s", text, maxsplit=1)[0]


def _rewrite(path: Path, header: str, table: str) -> None:
    text = path.read_text(encoding="utf-8")
    text, count = re.subn(re.escape(header) + TABLE_ROWS, lambda _: header + table, text)
    if count != 1:
        raise SystemExit(f"{path}: expected one inputs table, found {count}")
    path.write_text(text, encoding="utf-8")


def main() -> None:
    action = ROOT / "action.yml"
    text = action.read_text(encoding="utf-8")
    text = re.sub(r"^inputs:\n(?:  .*\n|    .*\n)*", action_inputs(), text, flags=re.M)
    action.write_text(text, encoding="utf-8")
    readme = ROOT / "README.md"
    short = _short_descriptions(readme.read_text(encoding="utf-8"))
    _rewrite(readme, README_HEADER, rows({f.name: short.get(f.name) or _first_sentence(f.help) for f in FIELDS}))
    _rewrite(ROOT / "docs" / "inputs.md", DOCS_HEADER, rows({}))


if __name__ == "__main__":
    main()
