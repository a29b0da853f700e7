"""``python -m ivr.prompts TEXTS OUT_DIR``: render changed prompts (set-up scripts use it)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ivr.prompts import PromptError, build_prompts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ivr.prompts", description=__doc__)
    parser.add_argument("texts", type=Path, help="prompt texts, e.g. config/prompts/zh.yaml")
    parser.add_argument("out_dir", type=Path, help="where the WAVs go, e.g. var/prompts/zh")
    args = parser.parse_args(argv)
    try:
        written = build_prompts(args.texts, args.out_dir)
    except PromptError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"{len(written)} prompt(s) rendered into {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
