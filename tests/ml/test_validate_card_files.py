"""A card's file table may name files in sub-folders (the TF.js export) but never outside the model folder."""
from ml.validate import _check_listed_files


def test_card_files_inside_the_folder_are_accepted_and_escapes_refused(tmp_path):
    (tmp_path / "tfjs").mkdir()
    (tmp_path / "tfjs" / "model.json").write_text("{}")
    (tmp_path / "model.onnx").write_bytes(b"x")
    problems = []
    _check_listed_files(tmp_path, {"files": {"tfjs_model": "tfjs/model.json", "onnx": "model.onnx"}}, problems)
    assert problems == []
    for bad in ("../secret", "/etc/passwd", "tfjs/../../x", "tfjs\\model.json", ""):
        problems = []
        _check_listed_files(tmp_path, {"files": {"x": bad}}, problems)
        assert problems and "inside the folder" in problems[0], bad
