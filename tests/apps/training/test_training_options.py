"""The four places a teacher or an engineer sets training options agree with ml.config's one definition.

The Django form, the API serializer, ``manage.py train`` and ``python -m ml train`` must offer the
same option names, accept exactly the same choices and ranges, and start from the right default set
(``classroom`` on the platform, ``engine`` on the command line of the engine).
"""
import argparse

import pytest

from apps.training.configs import CLASSROOM_OPTIONS, TrainingConfigSerializer, training_config_clean
from apps.training.forms import TrainingConfigForm
from apps.training.management.commands.train import Command as TrainCommand
from apps.training.models import TrainingRun
from apps.training.serializers import ModelVersionOutputSerializer, TrainingRunOutputSerializer
from ml.__main__ import build_parser
from ml.config import DEFAULT_SETS, MODES, OPTIONS, OPTIONS_BY_NAME, TrainConfig, defaults
from ml.errors import ConfigError

CLASSROOM_NAMES = [option.name for option in CLASSROOM_OPTIONS]


def _step(option):
    return 1 if option.kind is int else 0.01


def probes(option) -> tuple[list, list]:
    """Return values the definition accepts and values it refuses, at the edges of its range and choices."""
    if option.kind is bool:
        return [True, False], []
    if option.choices:
        if option.many:
            return [[], [option.choices[0]], list(option.choices)], [["not-a-choice"]]
        outsider = "not-a-choice" if option.kind is str else max(option.choices) + 1
        between = [(a + b) / 2 for a, b in zip(option.choices, option.choices[1:])] if option.kind is float else []
        return list(option.choices), [outsider, *between]
    if option.kind is str:
        return [DEFAULT_SETS["engine"][option.name]], ["x" * (option.max_length + 1)]
    step = _step(option)
    accepted, refused = [], list(option.excluded)
    if option.minimum is not None:
        (refused if option.exclusive_minimum else accepted).append(option.minimum)
        refused.append(option.minimum - step)
        if option.exclusive_minimum:
            accepted.append(option.minimum + step)
    if option.maximum is not None:
        (refused if option.exclusive_maximum else accepted).append(option.maximum)
        refused.append(option.maximum + step)
        if option.exclusive_maximum:
            accepted.append(option.maximum - step)
    if option.nullable:
        accepted.append(None)
    if option.many:
        return [[value] for value in accepted], [[value] for value in refused] + [[]]
    return accepted, refused


def as_text(value) -> str:
    """Write a value the way a command line or an HTML form sends it."""
    if value is None:
        return "none"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def probe_id(value) -> str:
    return value.name if hasattr(value, "kind") else repr(value)


def all_probes(options):
    for option in options:
        accepted, refused = probes(option)
        yield from ((option, value, True) for value in accepted)
        yield from ((option, value, False) for value in refused)


def engine_parser() -> argparse.ArgumentParser:
    return next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices["train"]


def option_actions(parser) -> dict:
    return {action.dest: action for action in parser._actions if action.dest in OPTIONS_BY_NAME}


def command_parser():
    return TrainCommand().create_parser("manage.py", "train")


# Names -------------------------------------------------------------------------------------------

def test_every_place_offers_the_options_of_its_default_set():
    """TrainConfig and the engine CLI have every option; the form, serializer and command the classroom ones."""
    assert [field.name for field in TrainConfig.__dataclass_fields__.values()] == [o.name for o in OPTIONS]
    assert list(option_actions(engine_parser())) == [o.name for o in OPTIONS]
    assert set(DEFAULT_SETS["engine"]) == set(OPTIONS_BY_NAME) and set(DEFAULT_SETS["classroom"]) <= set(OPTIONS_BY_NAME)
    assert list(TrainingConfigForm().fields) == CLASSROOM_NAMES
    assert list(TrainingConfigSerializer().fields) == CLASSROOM_NAMES
    assert list(option_actions(command_parser())) == CLASSROOM_NAMES


def test_flags_keep_their_names():
    """Both command lines spell each option as --name-with-dashes (the flags are a contract)."""
    for parser, options in ((engine_parser(), OPTIONS), (command_parser(), CLASSROOM_OPTIONS)):
        actions = option_actions(parser)
        assert [actions[o.name].option_strings for o in options] == [[o.flag] for o in options]
    assert OPTIONS_BY_NAME["image_size"].flag == "--image-size"


# Choices -----------------------------------------------------------------------------------------

def _form_choices(field):
    return [value for value, _ in field.choices]


def _serializer_choices(field):
    return list((getattr(field, "child", None) or field).choices)


@pytest.mark.parametrize("option", [o for o in OPTIONS if o.choices], ids=lambda o: o.name)
def test_choice_lists_are_the_definitions(option):
    """A choice added in one place only makes the lists differ here."""
    if not option.many:
        assert list(option_actions(engine_parser())[option.name].choices) == list(option.choices)
    if option in CLASSROOM_OPTIONS:
        assert _form_choices(TrainingConfigForm().fields[option.name]) == list(option.choices)
        assert _serializer_choices(TrainingConfigSerializer().fields[option.name]) == list(option.choices)
        if not option.many:
            assert list(option_actions(command_parser())[option.name].choices) == list(option.choices)



def test_run_modes_are_the_engine_modes():
    """A run's mode column and the run and version APIs offer exactly ml.config's modes, in its order."""
    assert TrainingRun.Mode.values == list(MODES)
    for serializer in (TrainingRunOutputSerializer(), ModelVersionOutputSerializer()):
        assert list(serializer.fields["mode"].choices) == list(MODES)

# Ranges and choices, by what each place accepts ---------------------------------------------------

@pytest.mark.parametrize("option,value,ok", list(all_probes(OPTIONS)), ids=probe_id)
def test_train_config_accepts_what_the_definition_accepts(option, value, ok):
    value = tuple(value) if isinstance(value, list) else value
    if ok:
        assert getattr(TrainConfig(**{option.name: value}), option.name) == value
    else:
        with pytest.raises(ConfigError, match=option.label):
            TrainConfig(**{option.name: value})


def _engine_parses(option, value) -> bool:
    flag = [option.flag] if option.kind is bool else [option.flag, as_text(value)]
    try:
        build_parser().parse_args(["train", "--data", "d", "--out", "o", *flag])
    except SystemExit:
        return False
    return True


@pytest.mark.parametrize("option,value,ok", [p for p in all_probes(OPTIONS) if p[0].kind is not bool], ids=probe_id)
def test_engine_cli_accepts_what_the_definition_accepts(option, value, ok, capsys):
    assert _engine_parses(option, value) is ok


def _command_parses(option, value) -> bool:
    from django.core.management import CommandError

    try:
        command_parser().parse_args(["slug", option.flag, as_text(value)])
    except CommandError:
        return False
    return True


@pytest.mark.parametrize("option,value,ok", list(all_probes(CLASSROOM_OPTIONS)), ids=probe_id)
def test_train_command_accepts_what_the_definition_accepts(option, value, ok):
    assert _command_parses(option, value) is ok


def _form_data(config: dict) -> dict:
    data = {}
    for name, value in config.items():
        data[name] = [str(v) for v in value] if isinstance(value, list) else "" if value is None else str(value)
    return data


@pytest.mark.parametrize("option,value,ok", list(all_probes(CLASSROOM_OPTIONS)), ids=probe_id)
def test_form_accepts_what_the_definition_accepts(option, value, ok):
    form = TrainingConfigForm(_form_data({**defaults("classroom"), option.name: value}))
    assert form.is_valid() is ok, form.errors
    if not ok:
        assert list(form.errors) == [option.name]


@pytest.mark.parametrize("option,value,ok", list(all_probes(CLASSROOM_OPTIONS)), ids=probe_id)
def test_serializer_accepts_what_the_definition_accepts(option, value, ok):
    serializer = TrainingConfigSerializer(data={**defaults("classroom"), option.name: value})
    assert serializer.is_valid() is ok, serializer.errors
    if not ok:
        assert list(serializer.errors) == [option.name]


# Defaults ----------------------------------------------------------------------------------------

def _normalised(config: dict) -> dict:
    return {name: sorted(value) if isinstance(value, (list, tuple)) else value for name, value in config.items()}


def test_engine_defaults_are_the_engine_set():
    """python -m ml train and TrainConfig() start from the engine set."""
    args = build_parser().parse_args(["train", "--data", "d", "--out", "o"])
    assert {o.name: getattr(args, o.name) for o in OPTIONS} == dict(DEFAULT_SETS["engine"])
    assert TrainConfig().to_dict() == _normalised(dict(DEFAULT_SETS["engine"])) | {
        "scratch_filters": list(DEFAULT_SETS["engine"]["scratch_filters"])}


def test_platform_defaults_are_the_classroom_set(settings, tmp_path):
    """The form starts from the classroom set; the API and the command fill what is not given from it."""
    settings.RIIM_WEIGHTS_DIR = str(tmp_path)
    classroom = dict(DEFAULT_SETS["classroom"])
    assert {name: TrainingConfigForm()[name].initial for name in CLASSROOM_NAMES} == classroom
    assert _normalised(training_config_clean({})) == _normalised(classroom)
    # A command flag that is not given leaves no option (the classroom value fills it), and its help names it.
    args = command_parser().parse_args(["slug"])
    assert not set(vars(args)) & set(CLASSROOM_NAMES)
    for option in CLASSROOM_OPTIONS:
        default = classroom[option.name]
        shown = ",".join(map(str, default)) if option.many else str(default)
        assert f"default: {shown})" in option_actions(command_parser())[option.name].help
