"""Write-protected outputs survive a forced rerun."""

import shutil

import pytest

from workflow.helpers import snakemake

pytestmark = pytest.mark.workflow


def test_protected_outputs_survive_a_forced_rerun(workflow):
    # Root ignores file modes; without CAP_DAC_OVERRIDE it is bound by them like any user.
    assert shutil.which("capsh"), "capsh (Debian libcap2-bin) is needed for this test"
    augmented = workflow / "results" / "demo" / "augment" / "augmented.tsv"
    before = augmented.read_bytes()
    drop = ["capsh", "--drop=cap_dac_override,cap_dac_read_search", "--", "-c"]
    code, output = snakemake(
        workflow,
        "-j1",
        "--forcerun",
        "augment",
        "--",
        str(augmented.relative_to(workflow)),
        check=False,
        prefix=drop,
    )
    assert code != 0
    assert "Write-protected output files" in output
    assert augmented.read_bytes() == before
