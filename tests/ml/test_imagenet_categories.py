"""The shipped ImageNet coarse categories (ml/data/imagenet_categories.json); no WordNet needed."""

import json
from pathlib import Path

import pytest

CATEGORIES_FILE = Path(__file__).resolve().parents[2] / "ml" / "data" / "imagenet_categories.json"
OOD_DEV_PREFIXES = {
    "bird",
    "fish",
    "insect",
    "invertebrate",
    "mammal",
    "reptile_amphibian",
    "flower",
    "plant_fungus",
    "food",
    "vehicle",
    "object",
    "landscape",
    "urban",
}


@pytest.fixture(scope="module")
def document():
    return json.loads(CATEGORIES_FILE.read_text(encoding="utf-8"))


def test_covers_the_thousand_classes_once(document):
    classes = document["classes"]
    assert len(classes) == 1000
    assert sorted(entry["index"] for entry in classes.values()) == list(range(1000))
    assert all(wnid.startswith("n") and len(wnid) == 9 and wnid[1:].isdigit() for wnid in classes)
    assert all(entry["name"] and "_" not in entry["name"] for entry in classes.values())


def test_every_category_is_named_and_grouped(document):
    groups, categories = document["groups"], document["categories"]
    assert {"animal", "planta", "comida", "vehiculo", "persona", "objeto", "paisaje"} <= set(groups)
    assert all(group["es"] and group["en"] for group in groups.values())
    assert 25 <= len(categories) <= 45
    for key, category in categories.items():
        assert category["es"] and category["en"], key
        assert category["group"] in groups, key
        assert category["synset"] in category["synsets"], key
    assert document["fallback"] in categories
    used = {entry["category"] for entry in document["classes"].values()}
    assert used <= set(categories)


@pytest.mark.parametrize(
    ("index", "name", "category", "group"),
    [
        (281, "tabby", "gato", "animal"),
        (207, "golden retriever", "perro", "animal"),
        (291, "lion", "felino", "animal"),
        (817, "sports car", "vehiculo", "vehiculo"),
        (948, "Granny Smith", "fruta_verdura", "comida"),
        (985, "daisy", "flor", "planta"),
        (983, "scuba diver", "persona", "persona"),
        (980, "volcano", "paisaje_natural", "paisaje"),
    ],
)
def test_spot_checks(document, index, name, category, group):
    by_index = {entry["index"]: entry for entry in document["classes"].values()}
    entry = by_index[index]
    assert entry["name"] == name
    assert entry["category"] == category
    assert document["categories"][category]["group"] == group


def test_ood_dev_prefixes_map_to_known_categories(document):
    table = document["ood_dev_groups"]
    assert set(table) == OOD_DEV_PREFIXES
    categories = document["categories"]
    for prefix, entry in table.items():
        assert entry["categories"] and set(entry["specific"]) <= set(entry["categories"]) <= set(categories), prefix
        if entry["report_apart"]:
            assert prefix in {"landscape", "urban"}
        else:
            assert all(categories[key]["group"] == entry["group"] for key in entry["categories"]), prefix
    assert table["bird"]["group"] == "animal" and "perro" in table["bird"]["categories"]
    assert table["flower"]["group"] == table["plant_fungus"]["group"] == "planta"
    assert table["food"]["group"] == "comida"
    assert table["vehicle"]["group"] == "vehiculo"
    assert table["object"]["group"] == "objeto"
