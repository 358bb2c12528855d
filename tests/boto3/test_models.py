"""The sandbox's request models are botocore's: regenerating
`crates/converge-sandbox/models/aws.json` from the pinned botocore
(tests/boto3/requirements.txt, scripts/requirements-models.txt) gives the
checked-in file byte for byte.

Run by .ci/run in the boto3 virtualenv: `python -m pytest tests/boto3`.
"""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_generated_models_are_what_botocore_says():
    pinned = (ROOT / "scripts" / "requirements-models.txt").read_text().strip()
    import botocore

    assert pinned == f"botocore=={botocore.__version__}", "the boto3 virtualenv must pin the models' botocore"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "sandbox-models.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is up to date" in result.stdout
