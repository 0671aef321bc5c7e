"""Distillation (kind `distilled`): a student with fewer encoder layers, initialised from the
final model's (the teacher's) embeddings, head and evenly spaced layers, trained on the
teacher's logits through the trainer's loss hook.

The loss is Hinton et al.'s: `alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE`,
with both distributions softened by the temperature T (multi-label: binary cross-entropy
against the teacher's softened sigmoid outputs, plus the hard labels' binary cross-entropy).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import replace

import torch
import torch.nn.functional as F
from transformers import AutoModelForSequenceClassification

from textclf.config import from_section
from textclf.encoding import encode, predict_logits
from textclf.labels import LabelSpace
from textclf.modeling import PRUNED, encoder_layers, label_space, load_classifier
from textclf.registry import text_facts
from textclf.training import TrainSettings, save_checkpoint, train, tune_thresholds

log = logging.getLogger(__name__)


def picked_layers(teacher_layers: int, student_layers: int) -> list[int]:
    """Evenly spaced teacher layers, the last always among them: 6 -> 3 gives [1, 3, 5]."""
    if not 0 < student_layers <= teacher_layers:
        raise ValueError(
            f"compress.distill.layers: {student_layers} must be 1 to the teacher's "
            f"{teacher_layers} layers"
        )
    step = teacher_layers / student_layers
    return [round(step * (i + 1)) - 1 for i in range(student_layers)]


def student_from(teacher, layers: int):
    """A copy of `teacher` keeping only `layers` of its encoder layers (picked_layers)."""
    if getattr(teacher.config, PRUNED, None):
        raise ValueError("distillation starts from an unpruned teacher")
    stack = encoder_layers(teacher)
    prefix = next(name for name, module in teacher.named_modules() if module is stack)
    picked = picked_layers(len(stack), layers)
    config = copy.deepcopy(teacher.config)
    config.num_hidden_layers = layers
    student = AutoModelForSequenceClassification.from_config(config)
    state = {}
    for key, value in teacher.state_dict().items():
        if key.startswith(prefix + "."):
            index, rest = key[len(prefix) + 1 :].split(".", 1)
            if int(index) not in picked:
                continue
            key = f"{prefix}.{picked.index(int(index))}.{rest}"
        state[key] = value.clone()
    student.load_state_dict(state, strict=True)
    return student


def distillation_loss(space: LabelSpace, temperature: float, alpha: float):
    """loss(logits, targets) -> (total, weight) for the trainer (see training.loss_function);
    `targets` holds the hard targets (a label id, or a multi-hot row) followed by the
    teacher's logits. Its mean is the batch mean of both terms."""
    labels, t = len(space.labels), temperature

    def loss(logits, targets):
        teacher = targets[:, -labels:]
        if space.multi_label:
            bce = F.binary_cross_entropy_with_logits
            soft = bce(logits / t, torch.sigmoid(teacher / t), reduction="sum") / labels
            hard = bce(logits, targets[:, :labels], reduction="sum") / labels
        else:
            soft = F.kl_div(
                F.log_softmax(logits / t, -1),
                F.log_softmax(teacher / t, -1),
                log_target=True,
                reduction="sum",
            )
            hard = F.cross_entropy(logits, targets[:, 0].long(), reduction="sum")
        return alpha * t * t * soft + (1 - alpha) * hard, len(logits)

    return loss


def teacher_logits(teacher, tokenizer, texts, max_length: int) -> torch.Tensor:
    return predict_logits(teacher, encode(tokenizer, texts, max_length), tokenizer.pad_token_id)


def kl_to_teacher(student, teacher_logits_, tokenizer, texts, max_length, temperature=1.0):
    """Mean KL(teacher || student) over `texts` (single-label), the distance distillation
    closes."""
    student_logits = predict_logits(
        student, encode(tokenizer, texts, max_length), tokenizer.pad_token_id
    )
    return F.kl_div(
        F.log_softmax(student_logits / temperature, -1),
        F.log_softmax(teacher_logits_ / temperature, -1),
        log_target=True,
        reduction="batchmean",
    ).item()


def run_distill(
    model_dir,
    train_rows,
    valid_rows,
    settings: dict,
    distill_settings: dict,
    out_dir,
    threads: int = 1,
) -> None:
    """Rule `distill`: the student, trained on the teacher's logits of the training rows."""
    torch.set_num_threads(threads)
    train_settings = from_section(TrainSettings, settings, "train")
    teacher, tokenizer = load_classifier(str(model_dir))
    space = label_space(teacher)
    student = student_from(teacher, distill_settings["layers"])
    soft = teacher_logits(teacher, tokenizer, train_rows["text"], train_settings.max_length)
    hard = torch.as_tensor(space.targets(train_rows["label"]), dtype=torch.float32)
    targets = torch.cat([hard.reshape(len(train_rows), -1), soft], dim=1)
    loss = distillation_loss(space, distill_settings["temperature"], distill_settings["alpha"])
    log.info(
        "distilling %d -> %d layers (%d -> %d parameters)",
        len(encoder_layers(teacher)),
        distill_settings["layers"],
        teacher.num_parameters(),
        student.num_parameters(),
    )
    del teacher
    student_settings = replace(train_settings, epochs=distill_settings["epochs"], unfreeze="none")
    student, history = train(
        student,
        tokenizer,
        train_rows,
        valid_rows,
        student_settings,
        threads,
        targets=targets,
        loss=loss,
    )
    record = None
    if space.multi_label:
        record = tune_thresholds(student, tokenizer, valid_rows, student_settings)
    text = text_facts(model_dir, train_settings.max_length)
    save_checkpoint(
        student, tokenizer, history, student_settings, out_dir, "distilled", record, facts=text
    )
