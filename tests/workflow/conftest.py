"""The demo run once per session: both experiments, every model, tracked; the tests of this
folder read it, and each one that changes it puts it back."""

import pytest

from workflow.helpers import copy_workflow, snakemake


@pytest.fixture(scope="session")
def workflow(tmp_path_factory, tiny_bert):
    workdir = copy_workflow(tmp_path_factory.mktemp("workflow"), tiny_bert)
    snakemake(workdir, "-j2", "results/prediction.csv", "all_experiments")
    return workdir
