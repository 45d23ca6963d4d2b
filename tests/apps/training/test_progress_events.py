"""The engine's progress events reach the run row and its log, rendered from their key and parameters."""

import string

import pytest
from django.utils import translation

from apps.training.events import EVENT_MESSAGES, event_text, log_text
from apps.training.models import TrainingRun
from apps.training.services import _Reporter
from ml.events import MESSAGES, Event


def _fields(template: str) -> set:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_engine_event_has_a_translated_sentence(key):
    """Each engine key has a sentence taking exactly the engine's parameters, different in Spanish and English."""
    assert key in EVENT_MESSAGES
    params = {name: 7 for name in _fields(MESSAGES[key])}
    with translation.override("es"):
        spanish = event_text(key, params)
    with translation.override("en"):
        english = event_text(key, params)
    assert "%(" not in spanish and "%(" not in english
    assert spanish != english or not params  # a translation exists (with parameters, at least)


def test_django_table_has_no_key_the_engine_never_sends():
    """A sentence for a key the engine does not know would never be shown."""
    assert set(EVENT_MESSAGES) == set(MESSAGES)


def test_unknown_event_key_is_refused_by_the_engine():
    """An event is a key of the table, so no sentence goes out that the platform cannot translate."""
    with pytest.raises(ValueError):
        Event("train", "train.finished", 1.0)


def test_reporter_stores_the_event_and_logs_it_in_the_platform_language(world):
    """The run keeps stage, percent, epoch and curves as before, plus the event's key and params;
    the log line is the event's sentence in the platform's language."""
    run = TrainingRun.objects.create(project=world.project, requested_by=world.teacher, status="running")
    reporter = _Reporter(run.pk)
    metrics = {"loss": 0.5, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.75}
    with translation.override("es"):
        reporter(Event("train", "train.epoch", 0.4, {"epoch": 2, "epochs": 5, "loss": 0.5, "val_accuracy": 0.75},
                       metrics))
    run.refresh_from_db()
    assert (run.stage, run.percent, run.epoch) == ("train", 40.0, 2)
    assert run.event == {"key": "train.epoch", "params": {"epoch": 2, "epochs": 5, "loss": 0.5, "val_accuracy": 0.75}}
    assert run.curves == [{"stage": "train", "epoch": 1, **metrics}] and run.metrics == metrics
    assert {k: run.log[-1][k] for k in ("stage", "key", "params")} == {"stage": "train", **run.event}
    with translation.override("es"):
        assert log_text(run.log[-1]).endswith("[entrenando la cabeza clasificadora] época 2/5, pérdida 0,5, exactitud en validación 0,75")
