"""The default labeling order: random unless a strategy's measured gain over random is shown."""
from ml import active_learning as al
from ml.config import defaults


def _gain(gain: float, low: float, high: float) -> dict:
    return {"gain": gain, "ci95": [low, high]}


def test_random_stays_the_default_while_every_interval_reaches_zero():
    """A gain whose 95 % interval touches or crosses zero is not shown: random stays."""
    gains = {al.UNCERTAINTY: _gain(0.0075, -0.0001, 0.0151), al.MIX: _gain(0.004, 0.0, 0.008),
             al.DIVERSE: _gain(-0.003, -0.006, -0.001)}
    assert al.default_strategy(gains) == al.RANDOM
    assert al.default_strategy({}) == al.RANDOM


def test_the_largest_shown_gain_becomes_the_default():
    gains = {al.UNCERTAINTY: _gain(0.006, 0.002, 0.010), al.MIX: _gain(0.004, 0.001, 0.007),
             al.DIVERSE: _gain(0.009, -0.001, 0.019)}  # largest, but not shown
    assert al.default_strategy(gains) == al.UNCERTAINTY
    assert al.default_strategy({al.MIX: _gain(0.004, 0.001, 0.007)}) == al.MIX


def test_the_default_follows_the_measurement_on_the_served_pipeline():
    """DEFAULT_STRATEGY is what the rule gives on bench/label_bench.py's numbers, measured on the classroom network."""
    measured = al.label_efficiency()
    assert measured is not None
    classroom = defaults("classroom")
    assert measured["backbone"] == f"{classroom['backbone']}:{classroom['image_size']}"
    assert measured["seeds"] >= 20
    assert al.default_strategy(measured["strategies"]) == measured["default"] == al.DEFAULT_STRATEGY
    assert al.DEFAULT_STRATEGY == al.RANDOM  # no order beat random on the served pipeline (20 seeds)


def test_an_unreadable_measurement_reads_as_none(tmp_path):
    assert al.label_efficiency(tmp_path / "missing.json") is None
    (tmp_path / "broken.json").write_text("{")
    assert al.label_efficiency(tmp_path / "broken.json") is None
