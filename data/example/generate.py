"""Writes the demo dataset: invented short posts about a fictional outbreak.

INFORMATIVE posts report something concrete (cases, deaths, places, measures); UNINFORMATIVE
posts are feelings, jokes and chatter. Some templates of each class borrow the other's
vocabulary and a few labels are flipped, so the task is not trivially separable. Everything is
made up here from templates with a fixed seed: `python data/example/generate.py` rewrites the
same files.
"""

import random
from pathlib import Path

SEED = 20261122
SIZES = {"train": 360, "valid": 120, "test": 120}
PLACES = [
    "Riverside",
    "Northfield",
    "Lakeview",
    "Port Ellis",
    "Cedar Falls",
    "Millbrook",
    "Ashford",
    "Greenhaven",
    "Stonebridge",
    "Brookdale",
    "Fairmont",
    "Oakridge",
]
DISEASE = ["the virus", "the new flu", "the outbreak", "the fever", "the infection"]
PLACE_KIND = ["county", "district", "city", "region", "province"]
INFORMATIVE = [
    "{n} new cases of {d} confirmed in {p} {k} today, health officials say",
    "{p} {k} reports {n} deaths linked to {d}, total now {m}",
    "BREAKING: {n} patients admitted to {p} General with symptoms of {d}",
    "Health ministry: {m} confirmed cases of {d} nationwide, {n} in {p}",
    "Schools in {p} closed from Monday after {n} pupils tested positive for {d}",
    "{p} {k} opens {n} new testing sites for {d}, no appointment needed",
    "Update: {p} recovered cases rise to {m}, active cases fall to {n}",
    "Officials in {p} extend the curfew by {n} days as {d} spreads",
    "{n} staff at a care home in {p} test positive for {d}; residents isolated",
    "Vaccination centre in {p} has given {m} doses since it opened {n} days ago",
    "Lab confirms {n} more samples from {p} carry {d}, contact tracing under way",
    # casual wording that still reports something concrete
    "omg my neighbour in {p} just tested positive for {d}, {n} people on our street now",
    "just heard {n} nurses at the {p} clinic caught {d} this week, stay safe",
    "ugh, {p} closing all gyms for {n} days because of {d}",
    "{p} hospitals report {n} ICU beds left as {d} admissions climb",
]
UNINFORMATIVE = [
    "so tired of hearing about {d}, can we talk about something else",
    "stuck at home in {p} again lol, day {n} of doing nothing",
    "my cat does not care about {d} at all and honestly same",
    "praying for everyone, stay safe out there friends",
    "who else is baking bread every day because of {d} haha",
    "{d} memes are the only thing keeping me sane right now",
    "cannot believe people still argue about {d} online smh",
    "miss going to the cinema in {p} so much, {n} more weeks I guess",
    "wash your hands and be kind to each other, that's all",
    "anyone else watching {n} episodes a night now? send recommendations",
    "my mom keeps forwarding me weird posts about {d} lol",
    "this whole {d} thing feels like a bad movie tbh",
    # numbers, places and official words that still report nothing
    "day {n} of lockdown in {p} and I have watched {m} movies",
    "{n} cases of toilet paper later and still no news from {p} officials lol",
    "read {n} articles about {d} today, confirmed: I know nothing",
    "health officials in {p} should just let us go to the beach, {n} weeks is enough",
]


def post(rng: random.Random, templates: list[str]) -> str:
    n = rng.choice([2, 3, 4, 5, 7, 9, 12, 15, 18, 21, 27, 34, 40, 56, 73, 88])
    text = rng.choice(templates).format(
        n=n,
        m=n * rng.randint(8, 60),
        p=rng.choice(PLACES),
        d=rng.choice(DISEASE),
        k=rng.choice(PLACE_KIND),
    )
    return text[0].upper() + text[1:] if rng.random() < 0.5 else text


NOISE = 0.04  # share of labels flipped, as real annotations disagree now and then


def main() -> None:
    rng = random.Random(SEED)
    here = Path(__file__).parent
    seen = set()
    for split, size in SIZES.items():
        lines = ["id\ttext\tlabel"]
        while len(lines) <= size:
            label = rng.choice(["INFORMATIVE", "UNINFORMATIVE"])
            text = post(rng, INFORMATIVE if label == "INFORMATIVE" else UNINFORMATIVE)
            if text in seen:
                continue
            seen.add(text)
            if rng.random() < NOISE:
                label = "UNINFORMATIVE" if label == "INFORMATIVE" else "INFORMATIVE"
            lines.append(f"{split}-{len(lines):04d}\t{text}\t{label}")
        (here / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
