"""Measure the default local LLM's rewrites on real data: kept/dropped rates and the
similarity distribution the semantic filter's default band is chosen from.

    .venv/bin/python bench/augment_similarity.py ../shared/datasets/wnut2020_covid_informative \
        --rows 300 --out results/bench/augment_similarity

Writes `<out>.json` (counts, similarity quantiles, rates under candidate bands) and
`<out>.tsv` (every kept rewrite with its similarity, for reading by eye; not for the repo).
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from textclf.augment import LLMSettings, augment_rows, llm_client  # noqa: E402
from textclf.similarity import SentenceEncoder  # noqa: E402
from textclf.tsv import read_tsv, write_text, write_tsv  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset")
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--out", default="results/bench/augment_similarity")
    args = parser.parse_args()
    rows = read_tsv(Path(args.dataset) / "train.tsv").sample(n=args.rows, random_state=0)
    llm = LLMSettings(workers=2)
    started = time.perf_counter()
    with llm_client(llm) as client:
        augmented, counts = augment_rows(rows, client, llm, variants=1)
    seconds = time.perf_counter() - started
    encoder = SentenceEncoder(threads=2)
    source = dict(zip(rows["id"], rows["text"], strict=True))
    augmented["source"] = augmented["source_id"].map(source)
    augmented["similarity"] = encoder.similarity(
        augmented["source"].tolist(), augmented["text"].tolist()
    )
    similarity = augmented["similarity"]
    bands = [(low, high) for low in (0.4, 0.5, 0.6, 0.7) for high in (0.95, 0.97, 0.98, 1.0)]
    summary = {
        "dataset": args.dataset,
        "rows": args.rows,
        "llm_seconds": round(seconds, 1),
        "counts": dict(counts),
        "similarity_quantiles": {
            str(q): round(float(similarity.quantile(q)), 3)
            for q in (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
        },
        "kept_share_of_requested_by_band": {
            f"{low}-{high}": round(float(similarity.between(low, high).sum()) / args.rows, 3)
            for low, high in bands
        },
    }
    write_text(json.dumps(summary, indent=2) + "\n", f"{args.out}.json")
    write_tsv(augmented.sort_values("similarity").round({"similarity": 3}), f"{args.out}.tsv")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
