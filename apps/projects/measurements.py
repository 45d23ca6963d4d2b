"""What the benchmark measured for each registry network (``ml/data/backbone_measurements.json``), for pages."""
import json
from functools import lru_cache
from pathlib import Path

import ml

MEASUREMENTS_FILE = Path(ml.__file__).parent / "data" / "backbone_measurements.json"


@lru_cache(maxsize=1)
def _measured() -> dict:
    try:
        return json.loads(MEASUREMENTS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def backbone_measurements() -> list[dict]:
    """Return one row per measured network and size: accuracy (mean, interval, n), AUROC, ms per upload, MB."""
    from apps.embeddings.backbones import SPEED_LABELS, backbone_label
    from ml.backbones import REGISTRY

    rows = []
    for key, values in _measured().items():
        name, size = key.split(":")
        entry = REGISTRY.get(name)
        if entry is None:
            continue
        rows.append({"key": key, "name": backbone_label(name), "size": int(size), "speed": SPEED_LABELS[entry.speed],
                     "accuracy": 100 * values["accuracy_mean"],
                     "low": 100 * values["accuracy_ci95"][0], "high": 100 * values["accuracy_ci95"][1],
                     "n": values["n"], "auroc": values["auroc_mean"], "upload_ms": values["upload_ms"],
                     "quick_s": values["quick_publish_s"], "mb": values["onnx_mb"]})
    return rows


def default_gain(project) -> dict | None:
    """Return the measured gain of the classroom default over the project's network, when it is another one."""
    from ml.config import defaults

    classroom = defaults("classroom")
    default_key = f"{classroom['backbone']}:{classroom['image_size']}"
    own_key = f"{project.backbone}:{project.backbone_image_size}"
    measured = {row["key"]: row for row in backbone_measurements()}
    if own_key == default_key or default_key not in measured or own_key not in measured:
        return None
    default, own = measured[default_key], measured[own_key]
    if default["accuracy"] <= own["accuracy"]:
        return None
    return {"name": default["name"], "size": default["size"], "key": default_key,
            "from": own["accuracy"], "to": default["accuracy"], "n": default["n"]}
