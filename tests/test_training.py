"""Stage-1/2 training with a tiny random BERT: unfreezing, early stopping, determinism."""

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import demo_rows

from textclf import training
from textclf.encoding import encode, in_precision, length_grouped_batches, predict_logits
from textclf.epochs import EarlyStopping, Unfreezing
from textclf.inference import Classifier
from textclf.modeling import (
    CPU_ATTENTION,
    SHORT_KEYS,
    FastDropout,
    encoder_layers,
    for_cpu_inference,
    load_classifier,
    native_bf16,
    plain_dropout,
    resolve_precision,
    set_trainable_depth,
    use_fast_dropout,
)
from textclf.registry import read_manifest
from textclf.training import TrainSettings, save_checkpoint, train

LABELS = ["INFORMATIVE", "UNINFORMATIVE"]


def trainable_names(model):
    return {name for name, p in model.named_parameters() if p.requires_grad}


def test_trainable_depth_opens_exactly_the_top_layers(tiny_bert_4layers):
    model, _ = load_classifier(str(tiny_bert_4layers), LABELS)
    every = {name for name, _ in model.named_parameters()}
    in_layer = {i: {n for n in every if f"encoder.layer.{i}." in n} for i in range(4)}
    embeddings = {n for n in every if ".embeddings." in n}
    head = every - embeddings - set().union(*in_layer.values())
    assert head >= {"classifier.weight", "classifier.bias"}

    assert set_trainable_depth(model, 0) == "head"
    assert trainable_names(model) == head
    assert set_trainable_depth(model, 2) == "head+layers 2-3"
    assert trainable_names(model) == head | in_layer[2] | in_layer[3]
    assert set_trainable_depth(model, 4) == "head+layers 0-3"
    assert trainable_names(model) == every - embeddings
    assert set_trainable_depth(model, 5) == "head+layers 0-3+embeddings"
    assert trainable_names(model) == every
    assert len(encoder_layers(model)) == 4


def scripted_scores(monkeypatch, scores):
    """Make validation return `scores` in turn and remember the weights seen at each epoch."""
    snapshots = []

    def fake_evaluate(model, *args):
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        score = scores[len(snapshots) - 1]
        metrics = {"accuracy": score, "f1_macro": score}
        return 1.0 - score, metrics

    monkeypatch.setattr(training, "_evaluate", fake_evaluate)
    return snapshots


@pytest.fixture()
def rows():
    return demo_rows("train").head(48), demo_rows("valid").head(16)


def test_early_stopping_keeps_the_best_epoch(monkeypatch, tiny_bert, rows):
    snapshots = scripted_scores(monkeypatch, [0.5, 0.7, 0.6, 0.65, 0.9, 0.95])
    model, tokenizer = load_classifier(str(tiny_bert), LABELS)
    settings = TrainSettings(epochs=6, patience=2, unfreeze="none", batch_size=8)
    model, history = train(model, tokenizer, *rows, settings)
    assert history["epoch"].tolist() == [1, 2, 3, 4]  # two epochs without improvement
    assert history["best"].tolist() == [False, True, False, False]
    final = model.state_dict()
    assert all(torch.equal(final[k], snapshots[1][k]) for k in final)
    assert not all(torch.equal(final[k], snapshots[3][k]) for k in final)


def test_epoch_schedule_unfreezes_every_n_epochs(monkeypatch, tiny_bert_4layers, rows):
    scripted_scores(monkeypatch, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
    model, tokenizer = load_classifier(str(tiny_bert_4layers), LABELS)
    settings = TrainSettings(
        epochs=7, unfreeze="epoch", unfreeze_every=2, unfreeze_layers=2, batch_size=8
    )
    _, history = train(model, tokenizer, *rows, settings)
    assert history["trainable"].tolist() == [
        "head",
        "head",
        "head+layers 2-3",
        "head+layers 2-3",
        "head+layers 0-3",
        "head+layers 0-3",
        "head+layers 0-3+embeddings",
    ]


def test_plateau_schedule_unfreezes_when_the_metric_stalls(monkeypatch, tiny_bert_4layers, rows):
    scripted_scores(monkeypatch, [0.5, 0.6, 0.6, 0.7, 0.7, 0.7, 0.8, 0.8, 0.8, 0.8])
    model, tokenizer = load_classifier(str(tiny_bert_4layers), LABELS)
    settings = TrainSettings(
        epochs=10,
        unfreeze="plateau",
        unfreeze_patience=1,
        unfreeze_layers=2,
        patience=2,
        batch_size=8,
    )
    _, history = train(model, tokenizer, *rows, settings)
    assert history["trainable"].tolist() == [
        "head",
        "head",
        "head",  # epoch 3 stalls -> open 2 layers
        "head+layers 2-3",
        "head+layers 2-3",  # epoch 5 stalls -> open 2 more
        "head+layers 0-3",  # epoch 6 stalls -> embeddings
        "head+layers 0-3+embeddings",  # epoch 7 improves
        "head+layers 0-3+embeddings",
        "head+layers 0-3+embeddings",  # 2 flat epochs: stop
    ]
    assert history["best"].tolist().index(True) == 6


def test_same_seed_same_history_and_weights(tiny_bert, rows):
    results = []
    for _ in range(2):
        model, tokenizer = load_classifier(str(tiny_bert), LABELS)
        settings = TrainSettings(epochs=2, batch_size=8, unfreeze="none", learning_rate=1e-3)
        results.append(train(model, tokenizer, *rows, settings))
    (model_a, history_a), (model_b, history_b) = results
    columns = ["train_loss", "valid_loss", "valid_accuracy"]
    pd.testing.assert_frame_equal(history_a[columns], history_b[columns])
    assert all(torch.equal(v, model_b.state_dict()[k]) for k, v in model_a.state_dict().items())


def test_training_learns_the_demo_task(tiny_bert):
    model, tokenizer = load_classifier(str(tiny_bert), LABELS)
    settings = TrainSettings(epochs=4, batch_size=16, unfreeze="none", learning_rate=3e-3)
    _, history = train(model, tokenizer, demo_rows("train"), demo_rows("valid"), settings)
    assert history["valid_accuracy"].max() > 0.9


def test_length_grouped_batches_cover_every_row_once():
    lengths = [5, 1, 9, 3, 7, 2, 8, 4, 6, 10, 11]
    batches = length_grouped_batches(lengths, 4, torch.Generator().manual_seed(0))
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert sorted(len(b) for b in batches) == [3, 4, 4]
    for batch in batches:  # within a chunk, batches hold neighbouring lengths
        assert [lengths[i] for i in batch] == sorted((lengths[i] for i in batch), reverse=True)


def test_checkpoint_loads_as_a_plain_pipeline(tmp_path, tiny_bert, rows):
    from transformers import pipeline

    model, tokenizer = load_classifier(str(tiny_bert), LABELS)
    settings = TrainSettings(epochs=1, batch_size=8, unfreeze="none")
    model, history = train(model, tokenizer, *rows, settings)
    save_checkpoint(model, tokenizer, history, settings, tmp_path / "ckpt", "stage1")
    classify = pipeline("text-classification", model=str(tmp_path / "ckpt"))
    assert classify("5 new cases confirmed")[0]["label"] in LABELS
    assert (tmp_path / "ckpt" / "history.tsv").exists()


def test_progress_is_logged_each_tenth_of_an_epoch(caplog, tiny_bert, rows):
    model, tokenizer = load_classifier(str(tiny_bert), LABELS)
    settings = TrainSettings(epochs=2, batch_size=2, unfreeze="none")  # 24 steps an epoch
    with caplog.at_level(logging.INFO, logger="textclf"):
        train(model, tokenizer, *rows, settings)
    progress = [r.getMessage() for r in caplog.records if "rows/s" in r.getMessage()]
    steps = [line.split(", ")[0] for line in progress]
    expected = [
        f"epoch {e}: step {s}/24"
        for e in (1, 2)
        for s in (2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24)
    ]
    assert steps == expected
    assert progress[-1].endswith("about 0 s to the epoch's end")


def test_torch_threads_follow_the_rule_threads(tiny_bert, rows):
    for threads in (1, 2):
        model, tokenizer = load_classifier(str(tiny_bert), LABELS)
        train(model, tokenizer, *rows, TrainSettings(epochs=1, unfreeze="none"), threads)
        assert torch.get_num_threads() == threads


def test_precision_auto_is_bf16_only_where_the_device_has_it(monkeypatch):
    cpu = torch.device("cpu")
    flags = set(Path("/proc/cpuinfo").read_text().split())
    assert native_bf16(cpu) == bool(flags & {"avx512_bf16", "amx_bf16"})
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    assert resolve_precision("auto", cpu) == "bf16"
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert resolve_precision("auto", cpu) == "fp32"
    assert resolve_precision("bf16", cpu) == "bf16"  # asked for: emulated, but honoured
    assert resolve_precision("fp16", cpu) == "fp32"  # fp16 autocast is for CUDA GPUs
    assert resolve_precision("none", cpu) == "fp32"


def test_bf16_and_fp32_training_reach_the_same_predictions(tmp_path, tiny_bert):
    valid = demo_rows("valid")
    predicted = {}
    for mixed_precision, precision in (("none", "fp32"), ("bf16", "bf16")):
        model, tokenizer = load_classifier(str(tiny_bert), LABELS)
        settings = TrainSettings(
            epochs=4,
            batch_size=16,
            unfreeze="none",
            learning_rate=3e-3,
            mixed_precision=mixed_precision,
        )
        model, history = train(model, tokenizer, demo_rows("train"), valid, settings)
        assert set(history["precision"]) == {precision}
        assert history["valid_accuracy"].max() > 0.9
        save_checkpoint(model, tokenizer, history, settings, tmp_path / precision, "stage1")
        assert read_manifest(tmp_path / precision)["precision"] == precision
        classifier = Classifier(tmp_path / precision)
        assert classifier.precision == (precision if native_bf16(torch.device("cpu")) else "fp32")
        expected = torch.bfloat16 if classifier.precision == "bf16" else torch.float32
        assert next(classifier.model.parameters()).dtype == expected  # cast once on a CPU
        predicted[precision] = classifier.predict(valid["text"])["predicted"]
    assert (predicted["fp32"] == predicted["bf16"]).mean() >= 0.95


def test_early_stopping_alone_keeps_the_best_weights_and_counts_patience():
    network = torch.nn.Linear(2, 1)
    stopping = EarlyStopping(patience=2)
    seen = []
    for epoch, score in enumerate([0.5, 0.7, 0.6, 0.65], start=1):
        with torch.no_grad():
            network.weight.fill_(epoch)
        seen.append((stopping.update(epoch, score, network), stopping.should_stop))
    assert seen == [(True, False), (True, False), (False, False), (False, True)]
    assert stopping.best_epoch == 2 and stopping.best_score == 0.7
    stopping.restart()
    assert not stopping.should_stop
    stopping.restore(network)
    assert network.weight.eq(2).all()


def test_unfreezing_schedules_alone():
    by_epoch = Unfreezing("epoch", n_layers=4, initial=1, layers=2, every=2)
    depths = []
    for epoch in range(1, 7):
        depths.append(by_epoch.depth)
        assert by_epoch.after_epoch(epoch, improved=True) is False
    assert depths == [1, 1, 3, 3, 5, 5]  # 5 = every layer and the embeddings

    plateau = Unfreezing("plateau", n_layers=4, layers=2, patience=2)
    opened = [plateau.after_epoch(e, i) for e, i in enumerate([True, False, False, True], 1)]
    assert opened == [False, False, True, False] and plateau.depth == 2

    assert Unfreezing("none", n_layers=4).depth == 5
    with pytest.raises(ValueError, match="unfreeze must be none, epoch or plateau"):
        Unfreezing("sometimes", n_layers=4)


def test_a_callback_can_stop_training_and_another_sees_every_epoch(tiny_bert, rows):
    model, tokenizer = load_classifier(str(tiny_bert), LABELS)
    settings = TrainSettings(epochs=3, batch_size=8, unfreeze="none", patience=5)
    records = []
    _, history = train(
        model,
        tokenizer,
        *rows,
        settings,
        callbacks=[records.append, lambda record: record["epoch"] >= 2],
    )
    assert history["epoch"].tolist() == [1, 2]  # stopped after epoch 2 of 3
    assert [r["epoch"] for r in records] == [1, 2]
    for record, (_, row) in zip(records, history.iterrows(), strict=True):
        assert record["valid_accuracy"] == row["valid_accuracy"]
        assert record["train_loss"] == row["train_loss"]


def test_a_callback_stops_after_the_first_epoch(tiny_bert, rows):
    model, tokenizer = load_classifier(str(tiny_bert), LABELS)
    settings = TrainSettings(epochs=3, batch_size=8, unfreeze="none")
    _, history = train(model, tokenizer, *rows, settings, callbacks=[lambda record: True])
    assert history["epoch"].tolist() == [1] and history["best"].tolist() == [True]


def test_the_caller_can_pass_soft_targets_and_its_own_loss(tiny_bert, rows):
    from torch.nn import functional as F

    model, tokenizer = load_classifier(str(tiny_bert), LABELS)
    train_rows = rows[0]
    soft = torch.full((len(train_rows), 2), 0.5)  # a teacher that knows nothing
    seen = []

    def soft_cross_entropy(logits, targets):
        seen.append(targets)
        return -(targets * F.log_softmax(logits, -1)).sum(), len(logits)  # (total, weight)

    settings = TrainSettings(epochs=1, batch_size=8, unfreeze="none")
    train(model, tokenizer, *rows, settings, targets=soft, loss=soft_cross_entropy)
    assert len(seen) == 6 and all(t.shape[1] == 2 and t.eq(0.5).all() for t in seen)
    assert sum(len(t) for t in seen) == len(train_rows)


def test_fast_dropout_drops_at_the_rate_asked_and_keeps_the_expected_value():
    generator = np.random.default_rng(0)
    dropout = FastDropout(0.1, generator)
    values = torch.ones(400, 1000)
    dropped = dropout(values)
    assert abs(float((dropped == 0).float().mean()) - 0.1) < 0.003
    assert abs(float(dropped.mean()) - 1.0) < 0.01
    again = FastDropout(0.1, np.random.default_rng(0))(values)
    assert torch.equal(dropped, again)  # seeded: the same masks
    assert not torch.equal(dropped, dropout(values))  # a new mask per call
    assert torch.equal(dropout.eval()(values), values)


def test_fast_dropout_swaps_the_models_dropout_and_attention_and_back(tiny_bert):
    model, tokenizer = load_classifier(str(tiny_bert), LABELS)
    batch = tokenizer(["a text", "a longer text with padding"], padding=True, return_tensors="pt")
    model.eval()
    with torch.no_grad():
        reference = model(**batch).logits
    assert use_fast_dropout(model, 0)
    assert model.config._attn_implementation == CPU_ATTENTION
    # in training, with nothing dropped (p rounds to 0 of 65536), the attention computed with
    # its own dropout equals SDPA's
    model.train()
    for module in model.modules():
        if isinstance(module, FastDropout):
            module.p = 1e-9
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).logits, reference, atol=1e-5, rtol=1e-5)
    plain_dropout(model)
    model.eval()
    assert not any(isinstance(m, FastDropout) for m in model.modules())
    assert model.config._attn_implementation == "sdpa"
    assert "textclf_previous_attention" not in model.config.to_dict()
    with torch.no_grad():
        assert torch.equal(model(**batch).logits, reference)


def test_bf16_inference_on_a_cpu_runs_a_bf16_copy_and_leaves_the_model_as_it_was(tiny_bert):
    model, tokenizer = load_classifier(str(tiny_bert), LABELS)
    encoded = encode(tokenizer, demo_rows("valid")["text"].head(40), 64)
    full = predict_logits(model, encoded, tokenizer.pad_token_id)
    half = predict_logits(model, encoded, tokenizer.pad_token_id, dtype=torch.bfloat16)
    assert {p.dtype for p in model.parameters()} == {torch.float32}  # a copy was cast
    assert not torch.equal(half, full)  # computed in bf16 ...
    torch.testing.assert_close(half, full, atol=0.05, rtol=0.05)  # ... close to fp32
    copy, autocast = in_precision(model.to(torch.bfloat16), torch.bfloat16)
    assert copy is model and autocast is None  # in bf16 already: run as it is


def test_cpu_attention_in_inference_equals_sdpa_on_short_and_long_sequences(tiny_bert):
    model, tokenizer = load_classifier(str(tiny_bert), LABELS)
    model.eval()
    short = ["a text", "a longer text with some padding after it"]
    long = [" ".join(["word"] * 90), "a short one padded to the long one"]  # > SHORT_KEYS keys
    batches = [tokenizer(texts, padding=True, return_tensors="pt") for texts in (short, long)]
    assert batches[0]["input_ids"].shape[1] <= SHORT_KEYS < batches[1]["input_ids"].shape[1]
    with torch.no_grad():
        references = [model(**batch).logits for batch in batches]
        for_cpu_inference(model)
        assert model.config._attn_implementation == CPU_ATTENTION
        for batch, reference in zip(batches, references, strict=True):
            torch.testing.assert_close(model(**batch).logits, reference, atol=1e-5, rtol=1e-5)
        for_cpu_inference(model, torch.bfloat16)  # and cast once, in place
        assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
        for batch, reference in zip(batches, references, strict=True):
            torch.testing.assert_close(
                model(**batch).logits.float(), reference, atol=0.05, rtol=0.05
            )
