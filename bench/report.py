"""Write BENCHMARKS.md from the bench scripts' results files (bench/*_results.json): the preset
table of bench/presets.py, then the sections of bench/search.py, bench/speed.py,
bench/profile_step.py, bench/cpu_attention.py, bench/int8_backends.py and bench/compression.py
where they have run, then
bench/BENCHMARKS_NOTES.md. Every bench script calls `write()` after its runs; to rewrite it
from the results files alone (nothing is run or trained):

    .venv/bin/python bench/report.py [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from common import BENCH, REPO, read_results


def write(out: Path = REPO / "BENCHMARKS.md") -> None:
    """BENCHMARKS.md from every results file there is, and the notes."""
    lines = presets_section(read_results("presets"))
    lines += seeds_section(read_results("seeds"))
    lines += search_section(read_results("search"))
    lines += speed_section(read_results("speed"))
    lines += profile_section(read_results("profile_step"))
    lines += cpu_attention_section(read_results("cpu_attention"))
    lines += int8_backends_section(read_results("int8_backends"))
    lines += compression_section(read_results("compression"))
    lines += llm_servers_section(read_results("llm_servers"))
    lines += full_augment_section(read_results("full_augment"))
    lines += hard_examples_section(read_results("hard_examples"))
    notes = BENCH / "BENCHMARKS_NOTES.md"
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    Path(out).write_text("\n".join(lines) + "\n")


def presets_section(results: dict) -> list[str]:
    """The title, and the preset runs of bench/presets.py (bench/presets_results.json)."""
    lines = [
        "# Benchmarks on the real datasets",
        "",
        "Written by `bench/presets.py` from its runs (raw numbers: `bench/presets_results.json`).",
        "Model: the packaged all-MiniLM-L6-v2 (22.7M parameters) for every preset. Test labels",
        "are held out, so every number is on **valid**: the dataset's own valid.tsv where it has",
        "one, else the stratified share of train that `prepare` holds out (seed 42). Wall time is",
        "the sum of the rules' times; peak memory is the largest rule's peak RSS.",
        "",
        "| preset | task | train rows used | valid rows | epochs run (best) "
        "| valid accuracy | valid macro-F1 | valid micro-F1 | target | met | wall time "
        "| measured alone | peak RSS | machine | date |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        m = r["models"][r["final_model"]]
        task = f"{r['problem_type'].replace('_', '-')}, {r['labels']} labels"
        sample = " (sample)" if r["max_train_rows"] else ""
        target = f"{r['target']['metric']} >= {r['target']['value']}"
        lines.append(
            f"| {name} | {task} | {r['rows']['train']}{sample} | {r['rows']['valid']} "
            f"| {m['epochs_run']} ({m['best_epoch']}) | {m['accuracy']:.3f} | {m['f1_macro']:.3f} "
            f"| {m['f1_micro']:.3f} | {target} | {'yes' if r['target']['met'] else 'no'} "
            f"| {r['wall_s'] / 60:.1f} min "
            f"| {'yes' if r['alone'] else 'no: beside other work, an upper bound'} "
            f"| {r['peak_rss_mb'] / 1024:.1f} GB | {r['machine']} "
            f"| {r['date']} |"
        )
    lines += ["", "Per preset: settings, and where the time went (seconds by rule).", ""]
    for name, r in results.items():
        lines.append(
            f"- **{name}** ({r['final_model']} is the final model): train settings "
            f"`{json.dumps(r['train_settings'])}`; max_train_rows {r['max_train_rows']}; "
            f"seconds by rule `{json.dumps(r['wall_s_by_rule'])}`"
        )
        if len(r["models"]) > 1:
            s1 = r["models"]["stage1"]
            lines.append(
                f"  - stage 1 alone: accuracy {s1['accuracy']:.3f}, macro-F1 {s1['f1_macro']:.3f}"
            )
    return lines


def seeds_section(runs: dict) -> list[str]:
    """The presets run with several seeds and their paired tests (bench/seeds.py,
    bench/seeds_results.json), once every seed of a run is in."""
    done = {name: r for name, r in runs.items() if "significance" in r}
    if not done:
        return []
    lines = ["", "## Seeds and paired tests"]
    for name, r in done.items():
        minutes = sum(r["seconds_by_seed"].values()) / 60
        lines += [
            "",
            f"Written by `bench/seeds.py` (command: `{r['command']}`; raw numbers: "
            f"`bench/seeds_results.json`, the evaluated files of every seed in "
            f"`bench/seeds/{name}/`), {r['date']}, on {r['machine']}; {minutes:.0f} min of "
            f"workflow runs, one seed at a time, over one or more sessions. The {name} preset "
            f"with seeds {r['seeds']}: stage 1, stage 2 on the hard examples mined by each "
            "seed's stage 1 from the one shared augmentation, and both baselines, each trained "
            "once per seed. Scores on valid: mean over seeds (min - max). Differences "
            "a - b in points with the 95 % interval of a two-level bootstrap (seeds, then "
            "rows; 1,000 resamples), its p-value, Holm's correction over the split's "
            "comparisons, McNemar's exact p on the first seed's models (accuracy), and the "
            "seeds a paired t-test over seeds would need for 80 % power at the observed size.",
        ]
        lines += scores_table(r["scores"]) + significance_rows(r["significance"])
        lines += ["", *[f"- {sentence}" for sentence in r["sentences"]]]
    return lines


def scores_table(scores: list[dict]) -> list[str]:
    """Mean valid accuracy over seeds, with min and max, per model."""
    lines = ["", "| model | valid accuracy, mean | min - max | seeds |", "|---|---|---|---|"]
    by_model: dict[str, list[float]] = {}
    for row in scores:
        by_model.setdefault(row["model"], []).append(row["score"])
    for model, values in by_model.items():
        lines.append(
            f"| {model} | {sum(values) / len(values):.4f} | "
            f"{min(values):.4f} - {max(values):.4f} | {len(values)} |"
        )
    return lines


def significance_rows(significance: list[dict]) -> list[str]:
    """The paired tests' table (textclf.evidence's significance table)."""
    lines = [
        "",
        "| comparison | split | metric | difference (points) | 95 % CI | p | p (Holm) "
        "| p McNemar | seeds | seeds for 80 % power | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in significance:
        power = row["seeds_for_power"]
        power = "" if power != power else f"{power:.0f}"  # NaN: one seed, no spread
        mcnemar = row["p_mcnemar"]
        mcnemar = "" if mcnemar != mcnemar else f"{mcnemar:.3g}"
        lines.append(
            f"| {row['comparison']} | {row['split']} | {row['metric']} "
            f"| {100 * row['difference']:+.2f} | {100 * row['low']:+.2f} to "
            f"{100 * row['high']:+.2f} | {row['p_bootstrap']:.3g} | {row['p_holm']:.3g} "
            f"| {mcnemar} | {row['seeds']} | {power} | {row['verdict']} |"
        )
    return lines


def hard_examples_section(samples: dict) -> list[str]:
    """The hard-example method against its controls (bench/hard_examples.py), per sample."""
    done = {name: r for name, r in samples.items() if "significance" in r}
    if not done:
        return []
    lines = ["", "## Does fine-tuning on hard examples help? (WNUT-2020)"]
    for sample, r in done.items():
        rows = "every training row" if sample == "all" else f"a seeded sample of {sample} rows"
        rewrites = r["rewrites"]
        lines += [
            "",
            f"### Trained on {rows}",
            "",
            f"Written by `bench/hard_examples.py` (command: `{r['command']}`; raw numbers: "
            "`bench/hard_examples_results.json`, each arm's evaluated files in "
            f"`bench/hard_examples/{sample}/`), {r['date']}, on {r['machine']}, "
            f"{r.get('alone', 'alone')}. Seeds "
            f"{r['seeds']}, the same in every arm. Rewrites: one by SmolLM2-135M for "
            f"{rewrites['rows_with_reply']} of the {rewrites['rows']} training rows (as many as "
            f"the full augmentation had done), {rewrites['kept']} kept by augment's filters. "
            f"Label-keeping mining: `{json.dumps(r['keep_settings'])}`. The controls train "
            "stage 2 on as many random rewrites, or as many original rows, as label-keeping "
            "mining kept. Scores on valid; differences with the two-level bootstrap as above, "
            "Holm's correction over the method's comparisons and, apart, over the encoder's "
            "(mpnet's stage 1 against MiniLM's).",
        ]
        lines += scores_table(r["scores"]) + significance_rows(r["significance"])
        lines += ["", *[f"- {sentence}" for sentence in r["sentences"]]]
        for name, runs in r["mining"].items():
            if runs:
                totals: dict[str, int] = {}
                for stats in runs:
                    for key, value in stats.items():
                        if isinstance(value, int):
                            totals[key] = totals.get(key, 0) + value
                lines.append(
                    f"- Mining `{name}`, summed over {len(runs)} seeds: `{json.dumps(totals)}`"
                )
    return lines


def profile_section(profile: dict) -> list[str]:
    """Each change to the bf16 step and inference measured alone (bench/profile_step.py)."""
    if not profile:
        return []
    runs = profile["runs"]
    lines = [
        "",
        "### Where a bf16 step goes: each change alone",
        "",
        f"Written by `bench/profile_step.py` (command: `.venv/bin/python {profile['command']}`; "
        f"raw numbers: `bench/profile_step_results.json`), {profile['date']}, on "
        f"{profile['machine']}, alone. The packaged MiniLM on WNUT-2020: training steps on "
        "length-grouped batches of 16 (10 warm-up steps, then 60 timed), inference on the valid "
        "texts in batches of 64 sorted by length, one pass (as predict runs); every variant in "
        "a process of its own, the variants one after another in each round; the median over "
        "rounds (range in brackets); `vs before` against the before variant of the same "
        "rounds. Matmul GFLOP/s counts as the speed table does.",
        "",
        "| variant | what | per second (median, range) | rounds | vs before | matmul GFLOP/s |",
        "|---|---|---|---|---|---|",
    ]
    for group, unit in (("train", "rows_per_s"), ("infer", "texts_per_s")):
        for name, r in runs.items():
            if not name.startswith(group):
                continue
            low, high = r["range"]
            ratio = f"{r['vs_before']:.2f}x" if r.get("vs_before") else "-"
            warm = f" (compiled in {r['warm_seconds']:.0f} s)" if "compiled" in name else ""
            lines.append(
                f"| {name} | {r['what']}{warm} | {r[unit]:.1f} ({low:.1f}-{high:.1f}) "
                f"| {r.get('rounds', 1)} | {ratio} | {r['gflops']:.0f} |"
            )
    lines.append("")
    for name in ("train_before", "train_workflow", "infer_before", "infer_workflow"):
        if "operators" in runs.get(name, {}):
            shares = ", ".join(
                f"{o['name']} {100 * o['share']:.0f} %" for o in runs[name]["operators"][:8]
            )
            lines.append(f"- `{name}`, torch.profiler's self CPU time: {shares}")
    return lines


def cpu_attention_section(attention: dict) -> list[str]:
    """Plain attention against SDPA's CPU kernel in paired runs (bench/cpu_attention.py)."""
    if not attention:
        return []
    lines = [
        "",
        "### Plain attention or SDPA's CPU kernel, in inference",
        "",
        f"Written by `bench/cpu_attention.py` (raw numbers: `bench/cpu_attention_results.json`), "
        f"{attention['date']}, on {attention['machine']}, alone. The packaged MiniLM labelling "
        f"{attention['texts_per_pair']} WNUT-2020 texts (sorted by length, batches of 64) with "
        "SDPA's attention at every length and with plain attention up to N keys (SDPA above), "
        "one right after the other in one process, in alternating order; the speed ratio "
        "(SDPA's seconds / the variant's) per pair, its median with a 95 % bootstrap interval, "
        "and the pairs in which the variant was faster. Pairs, because the differences are "
        "smaller than this VM's drift between minutes, which separate runs in rounds (the "
        "table above) cannot resolve. The workflow takes plain attention up to "
        f"{attention['workflow_threshold']} keys (textclf.modeling.SHORT_KEYS).",
        "",
        "| precision | plain up to N keys | speed vs SDPA (95 % CI) | faster in |",
        "|---|---|---|---|",
    ]
    for dtype, runs in attention["speed_vs_sdpa"].items():
        for keys, r in runs.items():
            lines.append(
                f"| {dtype} | {keys} | {r['median']:.3f}x ({r['low']:.3f}-{r['high']:.3f}) "
                f"| {r['faster']} of {r['pairs']} |"
            )
    return lines


def search_section(searches: dict) -> list[str]:
    """The searches of bench/search.py (bench/search_results.json), if any ran."""
    if not searches:
        return []
    lines = [
        "",
        "## Hyperparameter searches",
        "",
        "Written by `bench/search.py` (raw numbers: `bench/search_results.json`; command: "
        "`.venv/bin/python bench/search.py <preset>`). Each preset ran with the search of "
        "`bench/search/<preset>.yaml`: two worker jobs at once (one thread each) on one Optuna "
        "journal file, TPE, trials on a stratified sample of train with an epoch budget, scored "
        "on 20 % of train held out (never on valid); then stage 1 trained on all training rows "
        "with the best trial's settings and was evaluated on valid. Wall time is the clock time "
        "of the whole run, alone on the machine.",
        "",
        "| preset | trials (complete / pruned) | per trial | best trial's inner score "
        "| stage 1 on valid: accuracy | macro-F1 | epochs run (kept) | target | met "
        "| search | stage 1 | wall time | machine | date |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in searches.items():
        states = [t["state"] for t in r["trials"]]
        search = r["search"]
        budget = f"{search['max_train_rows']} rows, <= {search['epochs']} epochs"
        s1 = r["stage1"]
        by_rule = r["wall_s_by_rule"]
        search_s = max(v for k, v in by_rule.items() if k.startswith("search_worker"))
        target = f"{r['target']['metric']} >= {r['target']['value']}"
        lines.append(
            f"| {name} | {len(states)} ({states.count('complete')} / {states.count('pruned')}) "
            f"| {budget} | {r['best']['value']:.3f} | {s1['accuracy']:.3f} "
            f"| {s1['f1_macro']:.3f} | {s1['epochs_run']} ({s1['best_epoch']}) | {target} "
            f"| {'yes' if r['target']['met'] else 'no'} | {search_s / 60:.1f} min "
            f"| {by_rule['train'] / 60:.1f} min | {r['wall_s'] / 60:.1f} min | {r['machine']} "
            f"| {r['date']} |"
        )
    lines += [
        "",
        "The best settings, and every trial (inner-split score; pruned trials: the "
        "score of the epoch they were stopped at):",
        "",
    ]
    for name, r in searches.items():
        best = {
            k: round(v, 6) if isinstance(v, float) else v for k, v in r["best"]["settings"].items()
        }
        kept = {k: r["train"][k] for k in ("epochs", "patience", "unfreeze") if k in r["train"]}
        lines.append(
            f"- **{name}**: trial {r['best']['trial']}, `{json.dumps(best)}`; with "
            f"`{json.dumps(kept)}` from the preset"
        )
        params = list(r["best"]["settings"])
        lines += [
            "",
            "  | trial | state | score | " + " | ".join(params) + " |",
            "  |---|---|---|" + "---|" * len(params),
        ]
        for t in r["trials"]:
            values = " | ".join(
                f"{t[p]:.3g}" if isinstance(t[p], float) else str(t[p]) for p in params
            )
            lines.append(f"  | {t['trial']} | {t['state']} | {t['value']:.4f} | {values} |")
        lines.append("")
    return lines


def speed_section(speed: dict) -> list[str]:
    """The side-by-side runs of bench/speed.py (bench/speed_results.json), if they ran."""
    if not speed:
        return []
    runs = speed["runs"]
    hf_default = runs["hf_default"]["samples_per_s"]
    hf_best = runs["hf_best"]["samples_per_s"]
    pvalues = speed.get("mcnemar_vs_workflow_fp32", {})
    lines = [
        "",
        "## Speed against the Hugging Face Trainer and pipeline()",
        "",
        f"Written by `bench/speed.py` (command: `.venv/bin/python {speed['command']}`; raw "
        f"numbers: `bench/speed_results.json`), {speed['date']}, on {speed['machine']}, alone "
        "on the machine, every measurement in a process of its own, one after another. "
        "WNUT-2020, the packaged MiniLM, 1 epoch, batch 16, learning rate 5e-5, warm-up 10 %, "
        "weight decay 0.01, max length 128, seed 42, all layers trained. Samples/s is "
        "training rows / wall time of the whole training call (the workflow's includes "
        "tokenising and one validation pass). Valid scores on the 999 valid rows; p: exact "
        "McNemar test against the workflow's fp32 run on the same rows.",
        "",
        "| training run | precision | samples/s | vs HF default | vs HF best "
        "| valid accuracy | valid macro-F1 | McNemar p | peak RSS | matmul GFLOP/s "
        "| share of peak |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    peaks = runs.get("peak", {})

    def limit(run: dict, seconds: float) -> str:
        """The run's matrix-product GFLOP/s and its share of the machine's peak in the run's
        precision (MiniLM's feed-forward shape)."""
        shape = f"{run['precision']} 880x384x1536"
        peak = max((rate for name, rate in peaks.items() if name.startswith(shape)), default=0)
        if "matmul_gflop" not in run or not peak:
            return "- | -"
        rate = run["matmul_gflop"] / seconds
        return f"{rate:.0f} | {100 * rate / peak:.0f} %"

    for name in ("workflow_fp32", "workflow_auto", "hf_default", "hf_best"):
        if name not in runs:
            continue
        r = runs[name]
        p = f"{pvalues[name]:.3f}" if name in pvalues else "-"
        lines.append(
            f"| {name} | {r['precision']} | {r['samples_per_s']:.1f} "
            f"| {r['samples_per_s'] / hf_default:.2f}x | {r['samples_per_s'] / hf_best:.2f}x "
            f"| {r['accuracy']:.3f} | {r['f1_macro']:.3f} | {p} "
            f"| {r['peak_rss_mb'] / 1024:.2f} GB | {limit(r, r['seconds'])} |"
        )
    pipeline = runs["pipeline"]
    lines += [
        "",
        "Inference on the 2,000 WNUT-2020 test texts with the model the workflow's default "
        "run trained: texts/s labelling them in one call with batches of 64 (`pipeline()` "
        "batches them in file order; the workflow's predictors, as its predict step, sort "
        "them by length first), ms per text one at a time (100 texts), the share of test "
        "predictions identical to `pipeline()`'s, and accuracy on valid.",
        "",
        "| inference path | precision | texts/s (batch 64) | vs pipeline() "
        "| ms per text (batch 1) | identical to pipeline() | valid accuracy | peak RSS "
        "| matmul GFLOP/s | share of peak |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in ("predict_fp32", "predict_auto", "onnx", "onnx_int8", "pipeline"):
        if name not in runs:
            continue
        r = runs[name]
        same = sum(
            a == b for a, b in zip(r["predictions"], pipeline["predictions"], strict=True)
        ) / len(pipeline["predictions"])
        lines.append(
            f"| {name} | {r['precision']} | {r['texts_per_s']:.1f} "
            f"| {r['texts_per_s'] / pipeline['texts_per_s']:.2f}x | {r['latency_ms']:.1f} "
            f"| {100 * same:.1f} % | {r['accuracy']:.3f} | {r['peak_rss_mb'] / 1024:.2f} GB "
            f"| {limit(r, len(r['predictions']) / r['texts_per_s'])} |"
        )
    if peaks:
        lines += [
            "",
            "The machine's limit, measured in the same run (a bare matrix product, 2 threads, "
            "by torch and, where named, by ONNX Runtime's own kernels; int8: torch's `_int_mm` "
            "and ONNX Runtime's MatMulInteger, 8-bit integers multiplied into int32): "
            + ", ".join(f"{name}: {rate:.0f} GFLOP/s" for name, rate in peaks.items())
            + ". A path's matmul GFLOP/s counts the products its work needs (the encoder "
            "layers' linear weights and attention on the unpadded tokens; a training row 3x "
            "its forward pass) per second of wall time, so padding, the elementwise work and "
            "the optimizer all show as a smaller share of the peak in the path's precision "
            "(the higher of torch's and ONNX Runtime's in MiniLM's shape; int8: of the int8 "
            "peak).",
        ]
    if {"compile_eager", "compile_compiled"} <= set(runs):
        eager, compiled = runs["compile_eager"], runs["compile_compiled"]
        lines += [
            "",
            f"torch.compile on the training loop ({eager['steps']} steps of batch 16, "
            f"length-grouped, {eager.get('precision', 'fp32')}): eager "
            f"{eager['rows_per_s_after']:.1f} rows/s after the first 10 steps "
            f"({eager['first_10_steps_s']:.1f} s for those), compiled (`dynamic=True`) "
            f"{compiled['rows_per_s_after']:.1f} rows/s after "
            f"{compiled['first_10_steps_s']:.1f} s for the first 10 (compilation "
            f"included); {eager['total_s']:.0f} s against {compiled['total_s']:.0f} s "
            "in all.",
        ]
    dry = speed["dry_run"]
    what = "a no-op: the demo up to date" if dry["no_op"] else "the demo's jobs all planned"
    lines += [
        "",
        f"`snakemake -n all_experiments` ({what}; best of 3"
        + (f", measured {dry['date']}" if "date" in dry else "")
        + f"): {dry['seconds']:.2f} s"
        + (
            f", of which {dry['import_seconds']:.2f} s are Snakemake's own start (importing "
            "its command line and every installed plugin)"
            if "import_seconds" in dry
            else ""
        )
        + (
            f". `scontrol show config`, which the Slurm executor plugin runs on import "
            f"where Slurm's client is installed, took {dry['scontrol_seconds']:.2f} s here "
            "(a slurm.conf from CI's Slurm stage names a controller that is down); as on a "
            "machine without Slurm configured (`SLURM_CONF` an empty file), the dry run "
            f"took {dry['seconds_without_slurm_conf']:.2f} s, Snakemake's start "
            f"{dry['import_seconds_without_slurm_conf']:.2f} s of it"
            if "seconds_without_slurm_conf" in dry
            else ""
        )
        + ".",
    ]
    return lines


def int8_backends_section(backends: dict) -> list[str]:
    """The int8 backends bench/int8_backends.py measured (bench/int8_backends_results.json),
    if it ran."""
    if not backends:
        return []
    lines = [
        "",
        "### Which int8 backend",
        "",
        f"Written by `bench/int8_backends.py`, {backends['date']}, on {backends['machine']}, "
        f"alone: texts/s of {backends['model']} on {backends['texts']} WNUT-2020 test texts "
        f"sorted by length, batches of {backends['batch']}, {backends['threads']} threads.",
        "",
        "| backend | texts/s |",
        "|---|---|",
    ]
    measured = backends["texts_per_s"]
    agreement = {k: v for k, v in measured.items() if k.endswith("(%)")}
    costs = {k: v for k, v in measured.items() if "seconds" in k}
    rates = {k: v for k, v in measured.items() if k not in agreement and k not in costs}
    lines += [f"| {k} | {v} |" for k, v in rates.items()]
    int8 = {k: v for k, v in rates.items() if "int8" in k and isinstance(v, float)}
    fastest = max(int8, key=int8.get)
    lines += [
        "",
        "One-off costs: "
        + "; ".join(f"{k}: {v}" for k, v in costs.items())
        + "."
        + (
            " Valid predictions the same as ONNX Runtime fp32's: "
            + "; ".join(f"{k.split(':')[0]} {v:.1f} %" for k, v in agreement.items())
            + "."
            if agreement
            else ""
        )
        + f" The fastest int8 on this CPU: {fastest}; the workflow's int8 model (`onnx-int8`) "
        "is ONNX Runtime's dynamic int8, and there is no torch int8 kind.",
    ]
    return lines


def _scored(model: dict, metric: str) -> str:
    """A score with its bootstrap interval, where the run recorded one."""
    if f"{metric}_low" not in model:
        return f"{model[metric]:.3f}"
    return f"{model[metric]:.3f} ({model[metric + '_low']:.3f}-{model[metric + '_high']:.3f})"


def _versus(model: dict, metric: str) -> str:
    """The paired difference against stage 1 in points with its interval (the drop alone in
    runs made before the paired tests)."""
    test = model.get("vs_stage1", {}).get(metric)
    if test is None:
        return f"{-100 * model['f1_macro_drop']:+.1f}" if metric == "f1_macro" else ""
    return (
        f"{100 * test['difference']:+.1f} ({100 * test['low']:+.1f} to {100 * test['high']:+.1f})"
    )


def _p_holm(model: dict, metric: str) -> str:
    test = model.get("vs_stage1", {}).get(metric)
    return "" if test is None else f"{test['p_bootstrap']:.3g} ({test['p_holm']:.3g})"


def compression_section(runs: dict) -> list[str]:
    """The COVID-sentiment compression runs of bench/compression.py
    (bench/compression_results.json), if they ran."""
    if not runs:
        return []
    lines = ["", "## Compression on COVID sentiment"]
    for r in runs.values():
        lines += [
            "",
            f"Written by `bench/compression.py` (command: `.venv/bin/python {r['command']}`; "
            f"raw numbers: `bench/compression_results.json`), {r['date']}, on {r['machine']}; "
            f"{r['wall_s'] / 60:.1f} min. The covid_sentiment preset on a stratified sample of "
            f"{r['rows']['train']} training rows, {r['epochs']} epochs, with every compressed "
            f"kind switched on (`compress.models`; a {r['distill_layers']}-layer student, the "
            f"other compress settings the defaults); scores on the {r['rows']['valid']} valid "
            "rows. Latency and throughput are the workflow's `speed` job's (every model in one "
            "job, alone on the machine, 2 threads, the valid texts). Speed-up: texts/s against "
            "stage 1, the final model (the others are made from it, the int8 copies of the "
            "pruned and distilled models from those). Made in: the step that makes the model "
            "from its source, as the manifest records it (an int8 copy's time leaves out the "
            "pruning or distillation before it).",
            "",
            "| model | accuracy (95 % CI) | macro-F1 (95 % CI) | macro-F1 vs stage 1 (95 % CI) "
            "| p (Holm) | precision | recall | parameters | size | ms per text "
            "| texts/s (batch 64) | speed-up | made in |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, m in r["models"].items():
            lines.append(
                f"| {name} | {_scored(m, 'accuracy')} | {_scored(m, 'f1_macro')} "
                f"| {_versus(m, 'f1_macro')} | {_p_holm(m, 'f1_macro')} "
                f"| {m['precision_macro']:.3f} "
                f"| {m['recall_macro']:.3f} | {m['parameters'] / 1e6:.2f} M "
                f"| {m['size_mb']:.1f} MB | {m['latency_ms']:.2f} | {m['texts_per_second']:.0f} "
                f"| {m['speedup']:.2f}x | {m['train_seconds']:.0f} s |"
            )
        if r.get("sentences"):
            lines += ["", *[f"- {sentence}" for sentence in r["sentences"]]]
        met = ", ".join(r["target_met_by"]) or "none"
        if "target_met_by_interval" not in r:
            lines += ["", "Run before the paired tests: one seed, no interval."]
        lines += [
            "",
            "Target (a compressed model >= 2x the texts/s of stage 1 within 1 point of its "
            f"macro-F1) met by: {met}.",
        ]
        if "target_met_by_interval" in r:
            held = ", ".join(r["target_met_by_interval"]) or "none"
            lines[-1] += (
                " With the whole 95 % interval of the paired difference within 1 point "
                f"(one seed): {held}."
            )
    return lines


def llm_servers_section(r: dict) -> list[str]:
    """Replies/s of the embedded LLM per server layout (bench/llm_servers.py), if it ran."""
    if not r:
        return []
    lines = [
        "",
        "## The embedded LLM on two cores",
        "",
        f"Written by `bench/llm_servers.py` (command: `{r['command']}`; raw numbers: "
        f"`bench/llm_servers_results.json`), {r['date']}, on {r['machine']}, alone. SmolLM2-135M "
        f"(Q4_1) rewriting the same {r['rows']} WNUT-2020 training rows with the workflow's "
        f"prompt, {r['threads']} threads in all; time from the first request to the last reply.",
        "",
        "| server processes | threads each | requests in flight | replies/s | seconds "
        "| start-up s |",
        "|---|---|---|---|---|---|",
    ]
    best = max(r["layouts"], key=lambda x: x["replies_per_s"])
    for x in r["layouts"]:
        lines.append(
            f"| {x['servers']} | {x['threads_per_server']} | {x['workers']} "
            f"| {x['replies_per_s']:.2f} | {x['seconds']} | {x['startup_s']} |"
        )
    lines += [
        "",
        f"Most replies/s: {best['servers']} process(es) of {best['threads_per_server']} "
        f"thread(s) with {best['workers']} requests in flight (`llm.local_servers: "
        f"{best['servers']}`, `llm.workers: {best['workers']}`).",
    ]
    return lines


def full_augment_section(r: dict) -> list[str]:
    """The rewrite of every WNUT-2020 training row (bench/full_augment.py), as far as it got."""
    if not r:
        return []
    return [
        "",
        "## Every WNUT-2020 training row rewritten",
        "",
        f"Written by `bench/full_augment.py` (command: `{r['command']}`; raw numbers: "
        f"`bench/full_augment_results.json`), {r['date']}, on {r['machine']}. "
        f"{r['replies']} of {r['requested']} rows have a reply in the journal (a reply "
        "that copies its tweet is not counted) after "
        f"{r['seconds'] / 60:.0f} min of requests over {r['parts']} part(s) "
        f"({r['replies_per_s']:.2f} replies/s; {r['alone']}): every training row of WNUT-2020 "
        "rewritten on two CPU cores in about an hour. "
        + (
            f"Kept after the filters: {r['kept']} ({r['counts']})."
            if r.get("kept") is not None
            else "The filters run once every row has its reply."
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    write(parser.parse_args().out)


if __name__ == "__main__":
    main()
