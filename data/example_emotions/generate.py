"""Writes the multi-label demo dataset: invented posts about a fictional outbreak, each tagged
with the one to three feelings it expresses (worry, anger, relief, gratitude, humour).

A post joins one to three clauses, each written from one feeling's phrases, and its labels are
the set of those feelings, comma-separated. There is no valid.tsv on purpose: `prepare` holds out
a stratified share of train. Everything is made up here with a fixed seed:
`python data/example_emotions/generate.py` rewrites the same files.
"""

import random
from pathlib import Path

SEED = 20261124
SIZES = {"train": 300, "test": 80}
PLACES = ["Riverside", "Northfield", "Lakeview", "Port Ellis", "Cedar Falls", "Millbrook"]
CLAUSES = {
    "worry": [
        "I am scared my parents in {p} will catch it",
        "cases keep rising and I cannot sleep",
        "what if the hospital in {p} runs out of beds",
        "my chest feels tight every time I read the news",
        "nervous about sending the kids back to school",
    ],
    "anger": [
        "the council in {p} ignored every warning",
        "people partying without masks makes me furious",
        "this is a disgrace and someone should resign",
        "sick of the lies from the officials",
        "they closed the clinic in {p} and nobody explained why",
    ],
    "relief": [
        "my test finally came back negative",
        "grandma is home from the hospital at last",
        "phew, the curfew in {p} ends tomorrow",
        "the fever broke this morning",
        "so glad the worst seems to be over",
    ],
    "gratitude": [
        "thank you to every nurse in {p}",
        "huge thanks to the volunteers delivering food",
        "grateful for neighbours who check on us",
        "bless the doctors working double shifts",
        "thanks to the pharmacy in {p} for staying open",
    ],
    "humour": [
        "my cat is now my only coworker lol",
        "day twelve of talking to my houseplants haha",
        "I have baked so much bread I am basically a bakery",
        "sweatpants are my formal wear now",
        "my hair has achieved its final form lol",
    ],
}
JOINS = [", and ", ". ", " - ", "; "]


def post(rng: random.Random) -> tuple[str, list[str]]:
    feelings = rng.sample(sorted(CLAUSES), k=rng.choice([1, 1, 2, 2, 3]))
    parts = [rng.choice(CLAUSES[f]).format(p=rng.choice(PLACES)) for f in feelings]
    text = parts[0]
    for part in parts[1:]:
        text += rng.choice(JOINS) + part
    return text[0].upper() + text[1:], feelings


def main() -> None:
    rng = random.Random(SEED)
    here = Path(__file__).parent
    seen = set()
    for split, size in SIZES.items():
        lines = ["id\ttext\tlabels"]
        while len(lines) <= size:
            text, feelings = post(rng)
            if text in seen:
                continue
            seen.add(text)
            lines.append(f"{split}-{len(lines):04d}\t{text}\t{','.join(sorted(feelings))}")
        (here / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
