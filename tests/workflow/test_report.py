"""The HTML report in Chromium: every figure and table with its caption."""

import shutil

import pytest

from workflow.helpers import CHROMIUM_ARGS, caption_text, snakemake

pytestmark = pytest.mark.workflow
SUBCATEGORY = {
    "class_distribution": "1 data",
    "training_curves": "2 training",
    "hardest_examples": "4 hard examples",
    "comparison": "5 comparison",
    "significance": "5 comparison",
    "scores_by_seed": "5 comparison",
}


def open_report_row(page, workflow, experiment, path):
    """Load the report, open the experiment's category holding `path`, return its row."""
    page.goto((workflow / "results" / "report.html").as_uri())
    page.get_by_text(experiment, exact=True).click()
    page.get_by_text(SUBCATEGORY.get(path.stem, "3 evaluation"), exact=True).click()
    return page.locator("tr", has_text=str(path.relative_to(workflow)))


def test_report_shows_every_figure_with_its_caption(workflow):
    from playwright.sync_api import sync_playwright

    assert shutil.which("chromium"), "Debian's chromium is needed for this test"
    snakemake(
        workflow, "--report", "results/report.html", "results/prediction.csv", "all_experiments"
    )
    shown = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        # the report opens with one sentence per comparison, each experiment's
        page.goto((workflow / "results" / "report.html").as_uri())
        opening = " ".join(page.inner_text("body").split())
        for experiment in ("demo", "demo_emotions"):
            verdicts = (workflow / "results" / experiment / "verdicts.rst").read_text()
            assert f"What {experiment} shows" in opening
            for line in verdicts.splitlines():
                assert line.removeprefix("- ") in opening, line
        assert "Stage 2 vs stage 1, valid accuracy: " in opening
        assert "Stage 2 vs stage 1, valid f1_macro: " in opening  # demo_emotions, multi-label
        for experiment in ("demo", "demo_emotions"):
            out = workflow / "results" / experiment
            files = sorted((out / "figures").iterdir())
            files += [out / "comparison.tsv", out / "significance.tsv"]
            for path in files:
                row = open_report_row(page, workflow, experiment, path)
                row.locator("a[iconname=information-circle]").click()
                assert caption_text(path.stem) in " ".join(page.inner_text("body").split())
                if path.suffix == ".png":
                    open_report_row(page, workflow, experiment, path).locator(
                        "a[iconname=eye]"
                    ).click()
                    width = page.locator("img").last.evaluate("img => img.naturalWidth")
                    assert width == 900, path
                shown.append(path.stem)
        browser.close()
    expected = {
        "class_distribution",
        "training_curves",
        "confusion_matrix",
        "per_class",
        "frequency_vs_f1",
        "precision_recall",
        "threshold_analysis",
        "embedding_map",
        "hardest_examples",
        "comparison",
        "significance",
        "scores_by_seed",
    }
    assert set(shown) == expected | {"labels_per_sample"}
    assert shown.count("labels_per_sample") == 1  # multi-label only
