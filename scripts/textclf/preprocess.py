"""Optional text normalisation applied by `prepare` to every split (`data.preprocess`).

`tweet`: user mentions become `@USER` and links `HTTPURL` (the convention of the WNUT-2020
data and BERTweet), emoji become their names in words (`emoji.demojize`: a face with tears of
joy becomes ":face_with_tears_of_joy:" -> "face with tears of joy"), HTML entities are
unescaped and runs of whitespace collapse to one space.
"""

from __future__ import annotations

import html
import re

import emoji

MENTION = re.compile(r"(?<![\w@])@\w+")
URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
SPACE = re.compile(r"\s+")
EMOJI_NAME = re.compile(r":([a-z0-9_&'.-]+):")


def normalise_tweet(text: str) -> str:
    text = html.unescape(text)
    text = URL.sub("HTTPURL", text)
    text = MENTION.sub("@USER", text)
    text = emoji.demojize(text, delimiters=(" :", ": "))
    text = EMOJI_NAME.sub(lambda m: m[1].replace("_", " "), text)
    return SPACE.sub(" ", text).strip()


PREPROCESSORS = {"none": None, "tweet": normalise_tweet}


def preprocessor(name: str):
    if name not in PREPROCESSORS:
        raise ValueError(f"data.preprocess must be one of {sorted(PREPROCESSORS)}, not {name!r}")
    return PREPROCESSORS[name]
