"""Command line: ``python -m ml train|evaluate|predict|validate``.

Output contract: ``train`` prints a one-line JSON summary last (progress goes to stderr);
``evaluate`` and ``predict`` print JSON (on ``.keras``/``.h5``, ``.onnx`` or ``.tflite`` models);
``validate`` prints the problems of a model folder (exit 1 if any).
Errors are one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from ml.config import DEFAULT_SETS, OPTIONS, QUICK, add_option_arguments

EXIT_USAGE = 2
EXIT_FAILURE = 1
WEIGHTS_DIR_ENV = "RIIM_WEIGHTS_DIR"  # only the default of --weights-dir: the engine takes the folder as an argument


class CleanArgumentParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, without the usage block."""

    def error(self, message):
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = CleanArgumentParser(prog="python -m ml", description="RIIM ML engine")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=CleanArgumentParser)

    t = commands.add_parser("train", help="train a classifier and write model, card and history")
    t.add_argument("--data", required=True, help="ImageFolder directory or CSV/JSON manifest")
    t.add_argument("--out", required=True, help="output directory")
    t.add_argument("--weights-dir", default=os.environ.get(WEIGHTS_DIR_ENV, ""), metavar="DIR",
                   help=f"the folder trusted to hold weight files (default: ${WEIGHTS_DIR_ENV})")
    add_option_arguments(t, OPTIONS, DEFAULT_SETS["engine"])
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    e = commands.add_parser("evaluate", help="evaluate a saved model on a folder or manifest")
    e.add_argument("--model", required=True)
    e.add_argument("--data", required=True)

    p = commands.add_parser("predict", help="classify images with a saved model")
    p.add_argument("--model", required=True)
    p.add_argument("images", nargs="+")

    v = commands.add_parser("validate", help="check a model folder against the card schema")
    v.add_argument("folder")
    return parser


class ProgressBar:
    """A one-line text progress bar on stderr."""

    def __init__(self, width: int = 30, enabled: bool = True):
        self.width, self.enabled = width, enabled

    def __call__(self, event) -> None:
        """Draw one ``ml.events.Event``: its overall fraction, stage and English text."""
        if not self.enabled:
            return
        fraction = event.fraction or 0.0
        filled = int(round(fraction * self.width))
        bar = "#" * filled + "." * (self.width - filled)
        sys.stderr.write(f"\r[{bar}] {100 * fraction:3.0f}% {event.stage:<9} {event.text[:60]:<60}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def command_train(args) -> dict:
    from ml.config import TrainConfig
    from ml.weights import confined_weights_file

    config = TrainConfig(**{option.name: getattr(args, option.name) for option in OPTIONS})
    if config.weights not in ("imagenet", "none"):
        confined_weights_file(config.weights, args.weights_dir)  # refuse a path outside the folder before any work
    if config.mode == QUICK:  # a head on the frozen backbone's embeddings: no epochs, no progress bar
        from ml.quick import train_quick

        return train_quick(config, args.data, args.out, weights_dir=args.weights_dir or None)
    from ml.training import train

    bar = ProgressBar(enabled=not args.quiet)
    try:
        result = train(config, args.data, args.out, progress=bar, weights_dir=args.weights_dir or None)
    finally:
        bar.close()
    if result.card["backbone"]["fallback"]:
        print(f"warning: {result.card['backbone']['fallback_reason']}", file=sys.stderr)
    return result.summary


def command_evaluate(args) -> dict:
    from ml.analysis import evaluate

    return evaluate(args.model, args.data)


def command_predict(args) -> list:
    from ml.analysis import predict

    return predict(args.model, args.images)


def command_validate(args) -> dict:
    from ml.validate import ModelFolderInvalid, validate_folder

    problems = validate_folder(args.folder)
    if problems:
        print(json.dumps({"folder": args.folder, "valid": False, "problems": problems}, separators=(",", ":")))
        raise ModelFolderInvalid(f"{len(problems)} problem(s) in {args.folder}")
    return {"folder": args.folder, "valid": True, "problems": []}


COMMANDS = {"train": command_train, "evaluate": command_evaluate, "predict": command_predict,
            "validate": command_validate}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from ml.errors import MLError

    try:
        output = COMMANDS[args.command](args)
    except MLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except (OSError, ValueError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    print(json.dumps(output, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
