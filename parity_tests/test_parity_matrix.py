"""The parity matrix: every reference model x target x quantization x runtime, batch 1 and 4."""

import pytest

from parity_tests.matrix import parity_params
from toolkit.parity.run import ReferenceOutputs, check_artifact


@pytest.fixture(scope="session")
def references(loaded_models):
    """name -> Keras reference outputs, computed once per model for the whole matrix."""

    class _References(dict):
        def __missing__(self, name):
            self[name] = ReferenceOutputs(loaded_models[name])
            return self[name]

    return _References()


@pytest.mark.parametrize("name, target, quantization, variant", parity_params())
def test_parity(name, target, quantization, variant, loaded_models, exports, references):
    export = exports[(name, target, quantization)]
    rows = check_artifact(loaded_models[name], export, variant, references[name])
    assert [row.batch for row in rows] == [1, 4]
    failures = [f"batch {r.batch}: {r.error}" for r in rows if not r.passed]
    assert not failures, "; ".join(failures)
    for row in rows:
        print(f"{row.runtime} b{row.batch} max_abs={row.max_abs_err:.3g} cos={row.cosine:.6f} top1={row.top1_agreement}")
