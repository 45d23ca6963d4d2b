"""A real training run's log, read in Spanish, has no English sentence left: the network it built and why it
had to start from scratch included, and its numbers in the Spanish format."""
import re
from types import SimpleNamespace

import pytest
from django.utils import translation

from apps.training.events import fallback_reason, log_entry, log_text
from apps.training.views import network_summary
from tests.fixtures.models import SIZE, make_image_folder

# Words of English prose; technical names (ONNX, TFLite, Keras, TensorFlow.js, CNN, int8, MobileNet, the weights
# file and RIIM_WEIGHTS_DIR) are allowed in a Spanish sentence, these are not.
ENGLISH = {
    "the", "of", "and", "to", "is", "not", "from", "with", "in", "ready", "network", "weights", "file", "folder",
    "available", "falling", "back", "scratch", "training", "trained", "instead", "epoch", "loss", "accuracy",
    "validation", "fold", "done", "decoded", "images", "pruning", "exporting", "writing", "model", "card",
    "written", "fitting", "comparing", "converting", "quantizing", "outputs", "head", "tag",
    "autoencoder", "found", "neither", "nor", "cache", "downloaded", "pretrained", "random", "requested",
}
WEIGHTS_FILE = "pesos_ausentes.h5"


@pytest.fixture(scope="module")
def fallback_run(tmp_path_factory):
    """Train a MobileNet whose named weights file is missing (so the engine falls back to its scratch CNN),
    with k-fold, pruning and int8 quantization; return the events it reported and its card."""
    from ml.config import TrainConfig
    from ml.training import train

    data = make_image_folder(tmp_path_factory.mktemp("shapes"), per_class=12, seed=0, classes=("circle", "square"))
    config = TrainConfig(backbone="mobilenet", alpha=0.25, weights=WEIGHTS_FILE, image_size=SIZE, batch_size=16,
                         epochs=2, fine_tune_epochs=0, augment="none", folds=2, kfold_epochs=1, patience=4,
                         scratch_filters=(8, 16), seed=0, prune=0.5, quantize=("int8",))
    events = []
    result = train(config, data, tmp_path_factory.mktemp("out"), progress=events.append,
                   weights_dir=tmp_path_factory.mktemp("weights"))
    return events, result.card


TECHNICAL = re.compile(r"RIIM_WEIGHTS_DIR|TensorFlow\.js|\S+\.h5")  # names, not prose


def english_words(text: str) -> set:
    return {word for word in re.findall(r"[a-z]+", TECHNICAL.sub("", text).lower()) if word in ENGLISH}


def test_a_real_runs_log_reads_in_spanish_without_english_prose(fallback_run):
    events, _ = fallback_run
    log = [log_entry(event.key, event.params, event.stage) for event in events]
    assert {event.stage for event in events} >= {"data", "build", "kfold", "train", "evaluate", "prune", "export",
                                                  "quantize", "report"}
    with translation.override("es"):
        lines = [log_text(entry) for entry in log]
    leftovers = {line: english_words(line) for line in lines if english_words(line)}
    assert not leftovers, leftovers
    decimals = [line for line in lines if re.search(r"\d\.\d", line)]
    assert not decimals, decimals  # 0,75 in Spanish, never 0.75
    build = next(line for line, event in zip(lines, events, strict=True) if event.stage == "build")
    assert f"sin pesos preentrenados: el archivo de pesos {WEIGHTS_FILE} no está en la carpeta de pesos" in build
    assert "se entrena en su lugar la CNN desde cero" in build
    assert any(re.search(r"época 2/2, pérdida \d+,\d+", line) for line in lines)

    with translation.override("en"):
        english = [log_text(entry) for entry in log]
    assert any(f"the weights file {WEIGHTS_FILE} is not in the weights folder" in line for line in english)


def test_the_fallback_warning_of_the_run_and_of_its_version_follows_the_reader(fallback_run):
    """The run page's warning comes from the log while it runs and from the card once published: both Spanish."""
    events, card = fallback_run
    log = [log_entry(event.key, event.params, event.stage) for event in events]
    version = SimpleNamespace(metadata=card)
    with translation.override("es"):
        while_running = fallback_reason(log)
        published = network_summary(version)["fallback"]
    assert while_running == published
    assert while_running.startswith(f"sin pesos preentrenados: el archivo de pesos {WEIGHTS_FILE}")
    assert not english_words(while_running)
    with translation.override("en"):
        assert network_summary(version)["fallback"].startswith("no pretrained weights: the weights file")


def test_network_name_writes_its_width_in_the_readers_number_format():
    """«MobileNet 0,25» in Spanish, «MobileNet 0.25» in English."""
    version = SimpleNamespace(metadata={"backbone": {"used": "mobilenet", "alpha": 0.25, "pretrained": True}})
    with translation.override("es"):
        assert network_summary(version)["name"] == "MobileNet 0,25"
    with translation.override("en"):
        assert network_summary(version)["name"] == "MobileNet 0.25"
