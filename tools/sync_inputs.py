"""Rewrite action.yml's inputs and the README's inputs table from drift/config.py's FIELDS.

    python tools/sync_inputs.py

tests/test_meta.py fails when the three disagree; this makes them agree again.
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


def readme_rows() -> str:
    rows = []
    for f in FIELDS:
        default = "(required)" if f.name == "path" else (f"`{f.default}`" if f.default not in ("", ()) else "–")
        where = {"run": "per run", "gate": "file or input", "input": "input only"}[f.scope]
        rows.append(f"| `{f.name}` | {default} | {where} | {f.help} |")
    return "\n".join(rows) + "\n"


def main() -> None:
    action = ROOT / "action.yml"
    text = action.read_text(encoding="utf-8")
    text = re.sub(r"^inputs:\n(?:  .*\n|    .*\n)*", action_inputs(), text, flags=re.M)
    action.write_text(text, encoding="utf-8")
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    header = "| Input | Default | Where | Description |\n|---|---|---|---|\n"
    text = re.sub(re.escape(header) + r"(?:\| `.*\n)*", header + readme_rows(), text)
    readme.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
