"""README.md tells the truth about what the code does: its parity summary table matches the matrix."""

from __future__ import annotations

from pathlib import Path

from models import REFERENCE_MODELS, reference_names
from parity_tests.matrix import artifact_cases
from toolkit.labels import artifact_label
from toolkit.parity.report import summary_table
from toolkit.parity.run import BATCHES
from toolkit.runtimes.variants import runtime_variants

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_summary_rows() -> tuple[str, list[list[str]]]:
    """(header line, cells of each row) of the README's parity summary table."""
    header = summary_table([]).splitlines()[0]
    lines = README.read_text().splitlines()
    start = lines.index(header)
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return header, rows


def test_readme_parity_summary_lists_every_artifact_and_runtime_of_the_matrix():
    _, rows = readme_summary_rows()
    expected = {(artifact_label(t, q), v.label) for _, t, q in artifact_cases() for v in runtime_variants() if v.target == t}
    assert {(row[0], row[1]) for row in rows} == expected


def test_readme_parity_summary_counts_every_reference_model_and_batch():
    _, rows = readme_summary_rows()
    small = reference_names("small")
    per_pair = len(small) * len(BATCHES)
    documented = {}  # artifact label -> how many rows the registry expects to fail
    for model, target, quantization in artifact_cases():
        failing = (target, quantization) in REFERENCE_MODELS[model].expected_failures
        label = artifact_label(target, quantization)
        documented[label] = documented.get(label, 0) + (len(BATCHES) if failing else 0)
    for row in rows:
        passing, _, expected = row[2].partition(" + ")  # "18/22 + 4 xfail": the rest fail as documented
        expected = int(expected.split()[0]) if expected else 0
        assert expected == documented[row[0]], row
        assert passing == f"{per_pair - expected}/{per_pair}", row
        assert row[3] == str(len(small)), row
