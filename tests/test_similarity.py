"""The semantic filter with the real packaged MiniLM."""

import pandas as pd
import pytest
from test_augment import ScriptedClient

from textclf.augment import LLMSettings, augment_rows
from textclf.similarity import SentenceEncoder

SOURCE = "Officials in Greenhaven extend the curfew by 5 days as the new flu spreads"


@pytest.fixture(scope="module")
def encoder():
    return SentenceEncoder()


def test_band_drops_a_near_copy_and_an_off_topic_reply_and_keeps_a_paraphrase(encoder):
    rows = pd.DataFrame({"id": ["s"], "text": [SOURCE], "label": ["INFO"]})
    replies = {
        1: "officials in Greenhaven extended the curfew by 5 days as the new flu spreads",
        2: "I love baking bread with my grandmother on sunny afternoons",
        3: "Greenhaven authorities lengthen the curfew five more days as the flu keeps spreading",
    }
    client = ScriptedClient({(f"<post>{SOURCE}</post>", 1000 + k): r for k, r in replies.items()})
    augmented, counts = augment_rows(
        rows, client, LLMSettings(seed=1), variants=3, encoder=encoder, similarity_band=(0.5, 0.97)
    )
    assert augmented["text"].tolist() == [replies[3]]
    assert counts["dropped_near_copy"] == 1 and counts["dropped_drifted"] == 1
    assert counts["kept"] == 1


def test_similarity_orders_copies_paraphrases_and_unrelated_texts(encoder):
    near, paraphrase, unrelated = encoder.similarity(
        [SOURCE] * 3,
        [
            "officials in greenhaven extended the curfew by 5 days as the new flu spreads",
            "The curfew in Greenhaven will last 5 more days because the new flu is spreading",
            "Here is a joke about cats and dogs for your family",
        ],
    )
    assert near > paraphrase > 0.8 > 0.2 > unrelated
