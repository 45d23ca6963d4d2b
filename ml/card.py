"""The model card (``card.json``): everything needed to read, trust and rebuild a model.

``schema/card.schema.json`` is the contract; imported external models are validated against it.
Part 2 adds its own top-level sections (compression, export, anomaly, tags).
"""

from __future__ import annotations

import json
from pathlib import Path

SCHEMA_PATH = Path(__file__).parent / "schema" / "card.schema.json"
SCHEMA_VERSION = "1.0"
CARD_FILE = "card.json"


def card_schema() -> dict:
    """Return the committed JSON Schema of a model card."""
    return json.loads(SCHEMA_PATH.read_text())


def validate_card(card: dict) -> None:
    """Raise ``jsonschema.ValidationError`` if the card does not follow the schema."""
    import jsonschema

    jsonschema.validate(card, card_schema(), cls=jsonschema.Draft202012Validator)


def write_card(card: dict, path: str | Path) -> Path:
    """Validate and write a card as indented JSON."""
    validate_card(card)
    path = Path(path)
    path.write_text(json.dumps(card, indent=2, sort_keys=False))
    return path


def read_card(path: str | Path) -> dict:
    """Read a card from a JSON file, or from the ``card.json`` of a model folder."""
    path = Path(path)
    return json.loads((path / CARD_FILE if path.is_dir() else path).read_text(encoding="utf-8"))
