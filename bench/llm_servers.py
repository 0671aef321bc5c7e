"""How the embedded LLM uses two cores: replies/s of the local SmolLM2 server as one process of
two threads (one or two requests in flight) against several processes of one thread each.

    .venv/bin/python bench/llm_servers.py [--rows 60] [--dataset DIR]

llama-cpp-python's server answers one request at a time (a lock around the model; it has no
parallel sequences), so the choices are threads per process and processes. Each layout
rewrites the same seeded sample of WNUT-2020 training rows with the workflow's own prompt and
client (textclf.augment), no journal, the servers started and stopped by llm_client as in the
`augment` rule; the time counted is from the first request to the last reply (server start-up
is reported apart). Run alone. Results: bench/llm_servers_results.json, BENCHMARKS.md. Not run
by CI.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import common

import report
from textclf.augment import LLMSettings, augment_rows, llm_client
from textclf.tsv import read_tsv

WNUT = common.REPO.parent / "shared" / "datasets" / "wnut2020_covid_informative"

LAYOUTS = [  # (server processes, workers = requests in flight); the job has 2 threads
    (1, 1),
    (1, 2),
    (2, 2),
    (2, 4),
]


def measure(rows, servers: int, workers: int, threads: int) -> dict:
    llm = LLMSettings(workers=workers, local_servers=servers)
    started = time.monotonic()
    with llm_client(llm, threads=threads) as client:
        up = time.monotonic()
        _, counts = augment_rows(rows, client, llm, variants=1)
        seconds = time.monotonic() - up
    return {
        "servers": servers,
        "threads_per_server": max(1, threads // servers),
        "workers": workers,
        "replies": counts["sent"],
        "seconds": round(seconds, 1),
        "replies_per_s": round(counts["sent"] / seconds, 2),
        "startup_s": round(up - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--dataset",
        type=Path,
        default=common.REPO.parent / "shared/datasets/wnut2020_covid_informative",
    )
    args = parser.parse_args()
    rows = read_tsv(args.dataset / "train.tsv").sample(n=args.rows, random_state=7)
    found = []
    for servers, workers in LAYOUTS:
        found.append(measure(rows, servers, workers, args.threads))
        print(found[-1], flush=True)
    common.write_results(
        "llm_servers",
        {
            "date": common.today(),
            "machine": common.machine(),
            "command": f".venv/bin/python bench/llm_servers.py --rows {args.rows}",
            "rows": args.rows,
            "threads": args.threads,
            "layouts": found,
        },
    )
    report.write()


if __name__ == "__main__":
    main()
