"""The command line, run in-process (one TensorFlow import for the whole suite)."""

import json

from toolkit.cli import main
from toolkit.errors import EXIT_USAGE


def test_list_json_has_every_reference_model(capsys):
    from models import reference_names

    assert main(["list", "--json", "--tier", "small"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in rows] == reference_names("small")
    assert {row["tier"] for row in rows} == {"small"}
    by_name = {row["name"]: row for row in rows}
    assert by_name["multi_input_regression"]["inputs"][1] == {"name": "features_b", "shape": [None, 128], "dtype": "float32"}
    assert by_name["sequential_mlp"]["parameters"] == 784 * 64 + 64 + 64 * 10 + 10
    assert {row["api"] for row in rows} == {"sequential", "functional", "subclassed"}


def test_list_describes_untrained_models_without_training_them(tmp_path, monkeypatch, capsys):
    """Listing on a fresh machine must not train the zoo (minutes per model): an untrained model is described
    from its architecture, with the same specs and parameter count as once trained."""
    assert main(["list", "--json", "--tier", "small"]) == 0
    cached = json.loads(capsys.readouterr().out)
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path))  # an empty cache: nothing trained
    assert main(["list", "--json", "--tier", "small"]) == 0
    fresh = json.loads(capsys.readouterr().out)
    assert all(row["trained"] for row in cached) and not any(row["trained"] for row in fresh)
    assert not list(tmp_path.rglob("*.keras")), "listing trained a model"
    drop = lambda rows: [{k: v for k, v in row.items() if k != "trained"} for row in rows]  # noqa: E731
    assert drop(fresh) == drop(cached)


def test_list_table(capsys):
    assert main(["list", "--tier", "small"]) == 0
    out = capsys.readouterr().out
    assert "dynamic_branch" in out and "subclassed" in out


def test_export_then_up_to_date(tmp_path, capsys):
    assert main(["export", "--model", "functional_mlp", "--target", "saved_model", "--out", str(tmp_path)]) == 0
    assert "exported" in capsys.readouterr().out
    assert (tmp_path / "functional_mlp" / "saved_model" / "saved_model.pb").is_file()
    assert main(["export", "--model", "functional_mlp", "--target", "saved_model", "--out", str(tmp_path)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_unknown_model_suggests_close_names(tmp_path, capsys):
    assert main(["export", "--model", "functional_mpl", "--out", str(tmp_path)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "functional_mlp" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
