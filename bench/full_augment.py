"""Every WNUT-2020 training row rewritten by the embedded LLM, in parts that resume.

    .venv/bin/python bench/full_augment.py [--minutes 60] [--servers 2] [--workers 4]

Runs the `augment` rule through Snakemake as a user would, on the wnut2020 preset with
`augment.max_rows: null` (all 6,994 rows), the embedded SmolLM2 server laid out as
`llm.local_servers` processes with `llm.workers` requests in flight, for at most `--minutes`;
then stops it (the journal is written line by line, so a kill loses nothing paid for). The
journal stays in results/wnut2020/augment/ and is never committed (the LLM's replies often
quote the shared dataset's tweets), so a later part on the same machine sends only the requests
without a reply, and a fresh machine starts over (about an hour). When every row has its
reply, the rule finishes and writes augmented.tsv and stats.json; the counts go to
bench/full_augment_results.json and BENCHMARKS.md. Run alone: the replies/s are the layout's
on this machine. Not run by CI.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import common
from common import REPO

import report
from textclf import layout
from textclf.tsv import read_tsv

NAME = "wnut2020"
LIVE = REPO / layout.path(NAME, "augment", "journal.jsonl")  # results/: never committed


def journal_lines(path) -> list[dict]:
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut short by the kill
            continue
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    overrides = {
        "experiments": {
            NAME: {
                "augment": {"max_rows": None},
                "llm": {"local_servers": args.servers, "workers": args.workers},
                "tracking": {"enabled": False},
            }
        }
    }
    configs = [f"presets/{NAME}.yaml", common.override_file(f"{NAME}_full_augment", overrides)]
    live = LIVE
    before = len(journal_lines(live))
    command = [
        sys.executable,
        "-m",
        "snakemake",
        layout.augmented(NAME),
        "--cores",
        str(args.cores),
        "--configfile",
        "config.yaml",
        *map(str, configs),
    ]
    started = time.monotonic()
    # Snakemake traps SIGTERM; a KILL at the budget stops it and its LLM servers' parent.
    finished = subprocess.run(
        ["timeout", "-s", "KILL", str(int(args.minutes * 60)), *command], cwd=REPO
    )
    seconds = time.monotonic() - started
    subprocess.run(["pkill", "-f", "llama_cpp.server"], check=False)  # orphans of the kill
    train = read_tsv(REPO / layout.split(NAME, "train"))
    replies = len({e["source_id"] for e in journal_lines(live)})
    results = common.read_results("full_augment")
    done = finished.returncode == 0
    total_seconds = results.get("seconds", 0) + seconds
    sent = len(journal_lines(live)) - before
    record = {
        "date": common.today(),
        "machine": common.machine(),
        "command": f".venv/bin/python bench/full_augment.py --minutes {args.minutes:g} "
        f"--servers {args.servers} --workers {args.workers}",
        "requested": len(train),
        "replies": replies,
        "parts": results.get("parts", 0) + 1,
        "seconds": round(total_seconds),
        "replies_per_s": round((results.get("sent", 0) + sent) / max(total_seconds, 1e-9), 2),
        "sent": results.get("sent", 0) + sent,
        "alone": "each part alone on the machine",
        "kept": None,
    }
    if done:
        stats = json.loads((REPO / layout.augment_stats(NAME)).read_text())
        record["kept"] = stats["kept"]
        record["counts"] = {k: v for k, v in stats.items() if k.startswith("dropped_")}
    common.write_results("full_augment", record)
    report.write()
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
