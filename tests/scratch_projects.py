"""Small Scratch 3 projects (.sb3) for the tests: one sprite whose costumes are given pictures, one script."""
import hashlib
import io
import json
import zipfile

BACKDROP_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="480" height="360">'
                b'<rect width="480" height="360" fill="#ffffff"/></svg>')
RESULT_VARIABLE = "resultado"


def _asset(data: bytes, ext: str) -> tuple[str, str]:
    digest = hashlib.md5(data).hexdigest()  # Scratch names assets by their MD5
    return digest, f"{digest}.{ext}"


def classify_costume_script() -> dict:
    """«when the flag is clicked: classify [costume]; set [resultado] to (label)» in the VM's block format."""
    return {
        "flag": {"opcode": "event_whenflagclicked", "next": "classify", "parent": None, "inputs": {}, "fields": {},
                 "shadow": False, "topLevel": True, "x": 0, "y": 0},
        "classify": {"opcode": "riim_classify", "next": "set", "parent": "flag", "inputs": {"SOURCE": [1, "source"]},
                     "fields": {}, "shadow": False, "topLevel": False},
        "source": {"opcode": "riim_menu_sources", "next": None, "parent": "classify", "inputs": {},
                   "fields": {"sources": ["costume", None]}, "shadow": True, "topLevel": False},
        "set": {"opcode": "data_setvariableto", "next": None, "parent": "classify",
                "inputs": {"VALUE": [3, "label", [10, ""]]}, "fields": {"VARIABLE": [RESULT_VARIABLE, "result"]},
                "shadow": False, "topLevel": False},
        "label": {"opcode": "riim_label", "next": None, "parent": "set", "inputs": {}, "fields": {},
                  "shadow": False, "topLevel": False},
    }


def sb3(pictures: list[bytes], blocks: dict, sprite: str = "Foto", bitmap_resolution: int = 1) -> bytes:
    """Return an .sb3 whose sprite wears ``pictures`` (PNG or JPEG) as costumes and runs ``blocks``; it uses the RIIM
    extension.

    At ``bitmap_resolution`` 1 (a Scratch 2 project's bitmaps) Scratch's VM doubles each picture (nearest neighbour)
    and keeps the PNG of the result as the costume; at 2 (what Scratch 3 saves) it keeps the given bytes.
    """
    files = {}
    backdrop_id, backdrop_name = _asset(BACKDROP_SVG, "svg")
    files[backdrop_name] = BACKDROP_SVG
    costumes = []
    for index, data in enumerate(pictures):
        data_format = "jpg" if data[:2] == b"\xff\xd8" else "png"
        asset_id, name = _asset(data, data_format)
        files[name] = data
        costumes.append({"assetId": asset_id, "name": f"foto{index}", "bitmapResolution": bitmap_resolution,
                         "md5ext": name, "dataFormat": data_format, "rotationCenterX": 20, "rotationCenterY": 20})
    stage = {"isStage": True, "name": "Stage", "variables": {"result": [RESULT_VARIABLE, ""]}, "lists": {},
             "broadcasts": {}, "blocks": {}, "comments": {}, "currentCostume": 0,
             "costumes": [{"assetId": backdrop_id, "name": "fondo", "md5ext": backdrop_name, "dataFormat": "svg",
                           "rotationCenterX": 240, "rotationCenterY": 180}],
             "sounds": [], "volume": 100, "layerOrder": 0, "tempo": 60, "videoTransparency": 50, "videoState": "off",
             "textToSpeechLanguage": None}
    target = {"isStage": False, "name": sprite, "variables": {}, "lists": {}, "broadcasts": {}, "blocks": blocks,
              "comments": {}, "currentCostume": 0, "costumes": costumes, "sounds": [], "volume": 100,
              "layerOrder": 1, "visible": True, "x": 0, "y": 0, "size": 100, "direction": 90, "draggable": False,
              "rotationStyle": "all around"}
    project = {"targets": [stage, target], "monitors": [], "extensions": ["riim"],
               "meta": {"semver": "3.0.0", "vm": "15.1.1", "agent": "RIIM tests"}}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.json", json.dumps(project))
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()
