"""Build docs/scratch/atrapa-la-estrella.sb3, the guides' example game: catch the falling star by showing the camera
one class or the other. Run: python docs/scratch/build_example.py docs/scratch/atrapa-la-estrella.sb3
"""
import hashlib
import io
import json
import zipfile

LINK_PLACEHOLDER = "pega aquí el enlace de tu clase"
BACKDROP = (b'<svg xmlns="http://www.w3.org/2000/svg" width="480" height="360"><rect width="480" height="360" fill="#eaf2ff"/>'
            b'<rect y="320" width="480" height="40" fill="#9ec5fe"/></svg>')
BASKET = (b'<svg xmlns="http://www.w3.org/2000/svg" width="90" height="50"><path d="M5 5 H85 L72 45 H18 Z" fill="#b35c1e" '
          b'stroke="#5c2e0e" stroke-width="4"/><path d="M20 18 H70 M25 31 H65" stroke="#5c2e0e" stroke-width="3"/></svg>')
STAR = (b'<svg xmlns="http://www.w3.org/2000/svg" width="44" height="44"><path d="M22 2 L28 16 L43 17 L31 27 L35 42 L22 34 '
        b'L9 42 L13 27 L1 17 L16 16 Z" fill="#ffc107" stroke="#b8860b" stroke-width="2"/></svg>')


def asset(data, ext):
    digest = hashlib.md5(data).hexdigest()
    return {"assetId": digest, "md5ext": f"{digest}.{ext}", "dataFormat": ext}, data


def num(value):
    return [1, [4, str(value)]]


def text(value):
    return [1, [10, str(value)]]


class Script:
    def __init__(self, prefix):
        self.blocks, self.prefix, self.n = {}, prefix, 0

    def add(self, opcode, parent=None, inputs=None, fields=None, shadow=False, top=False, x=0, y=0):
        self.n += 1
        key = f"{self.prefix}{self.n}"
        block = {"opcode": opcode, "next": None, "parent": parent, "inputs": inputs or {}, "fields": fields or {},
                 "shadow": shadow, "topLevel": top}
        if top:
            block.update(x=x, y=y)
        self.blocks[key] = block
        return key

    def chain(self, keys):
        for a, b in zip(keys, keys[1:]):
            self.blocks[a]["next"] = b
            self.blocks[b]["parent"] = a


VARS = {"izquierda": "var-left", "derecha": "var-right", "puntos": "var-points"}


def basket_script():
    s = Script("cesta")
    flag = s.add("event_whenflagclicked", top=True, x=20, y=20)
    use = s.add("riim_useModel", inputs={"URL": text(LINK_PLACEHOLDER)})
    left = s.add("data_setvariableto", inputs={"VALUE": text("clase 1")}, fields={"VARIABLE": ["izquierda", VARS["izquierda"]]})
    right = s.add("data_setvariableto", inputs={"VALUE": text("clase 2")}, fields={"VARIABLE": ["derecha", VARS["derecha"]]})
    threshold = s.add("riim_setThreshold", inputs={"N": num(60)})
    video = s.add("riim_setVideo")
    video_menu = s.add("riim_menu_video", parent=video, fields={"video": ["on", None]}, shadow=True)
    s.blocks[video]["inputs"]["STATE"] = [1, video_menu]
    home = s.add("motion_gotoxy", inputs={"X": num(0), "Y": num(-140)})
    forever = s.add("control_forever")
    s.chain([flag, use, left, right, threshold, video, home, forever])
    say = s.add("looks_say")
    label = s.add("riim_label", parent=say)
    s.blocks[say]["inputs"]["MESSAGE"] = [3, label, [10, ""]]
    moves = [say]
    for variable, step in (("izquierda", -8), ("derecha", 8)):
        cond = s.add("control_if")
        is_label = s.add("riim_isLabel", parent=cond)
        menu = s.add("riim_menu_labels", parent=is_label, fields={"labels": [" ", None]}, shadow=True)
        s.blocks[is_label]["inputs"]["LABEL"] = [3, [12, variable, VARS[variable]], menu]
        move = s.add("motion_changexby", parent=cond, inputs={"DX": num(step)})
        s.blocks[cond]["inputs"] = {"CONDITION": [2, is_label], "SUBSTACK": [2, move]}
        moves.append(cond)
    s.chain(moves)
    # Only once the model is ready: until then the sprite keeps saying why it is not (a wrong link, no model).
    ready = s.add("control_if", parent=forever)
    is_ready = s.add("riim_modelIs", parent=ready)
    state = s.add("riim_menu_states", parent=is_ready, fields={"states": ["ready", None]}, shadow=True)
    s.blocks[is_ready]["inputs"] = {"STATE": [1, state]}
    s.blocks[ready]["inputs"] = {"CONDITION": [2, is_ready], "SUBSTACK": [2, say]}
    s.blocks[say]["parent"] = ready
    s.blocks[forever]["inputs"] = {"SUBSTACK": [2, ready]}
    return s.blocks


def star_script():
    s = Script("estrella")
    flag = s.add("event_whenflagclicked", top=True, x=20, y=20)
    reset = s.add("data_setvariableto", inputs={"VALUE": text("0")}, fields={"VARIABLE": ["puntos", VARS["puntos"]]})
    forever = s.add("control_forever")
    s.chain([flag, reset, forever])

    def random_top(parent):
        go = s.add("motion_gotoxy", parent=parent)
        rnd = s.add("operator_random", parent=go, inputs={"FROM": num(-200), "TO": num(200)})
        s.blocks[go]["inputs"] = {"X": [3, rnd, [4, "0"]], "Y": num(170)}
        return go

    start = random_top(forever)
    until = s.add("control_repeat_until")
    lower = s.add("operator_lt", parent=until)
    ypos = s.add("motion_yposition", parent=lower)
    s.blocks[lower]["inputs"] = {"OPERAND1": [3, ypos, [10, ""]], "OPERAND2": text(-160)}
    fall = s.add("motion_changeyby", parent=until, inputs={"DY": num(-4)})
    caught = s.add("control_if")
    touching = s.add("sensing_touchingobject", parent=caught)
    menu = s.add("sensing_touchingobjectmenu", parent=touching, fields={"TOUCHINGOBJECTMENU": ["Cesta", None]}, shadow=True)
    s.blocks[touching]["inputs"] = {"TOUCHINGOBJECTMENU": [1, menu]}
    point = s.add("data_changevariableby", inputs={"VALUE": num(1)}, fields={"VARIABLE": ["puntos", VARS["puntos"]]})
    again = random_top(None)
    s.chain([point, again])
    s.blocks[caught]["inputs"] = {"CONDITION": [2, touching], "SUBSTACK": [2, point]}
    s.blocks[point]["parent"] = caught
    s.chain([fall, caught])
    s.blocks[until]["inputs"] = {"CONDITION": [2, lower], "SUBSTACK": [2, fall]}
    s.chain([start, until])
    s.blocks[forever]["inputs"] = {"SUBSTACK": [2, start]}
    return s.blocks


def costume(data, name, cx, cy):
    meta, data = asset(data, "svg")
    return {**meta, "name": name, "rotationCenterX": cx, "rotationCenterY": cy}, data


def sprite(name, blocks, costume_entry, layer, x, y):
    return {"isStage": False, "name": name, "variables": {}, "lists": {}, "broadcasts": {}, "blocks": blocks,
            "comments": {}, "currentCostume": 0, "costumes": [costume_entry], "sounds": [], "volume": 100,
            "layerOrder": layer, "visible": True, "x": x, "y": y, "size": 100, "direction": 90, "draggable": False,
            "rotationStyle": "all around"}


def build() -> bytes:
    files = {}
    backdrop, files_b = costume(BACKDROP, "cielo", 240, 180)
    basket, files_c = costume(BASKET, "cesta", 45, 25)
    star, files_s = costume(STAR, "estrella", 22, 22)
    for entry, data in ((backdrop, files_b), (basket, files_c), (star, files_s)):
        files[entry["md5ext"]] = data
    stage = {"isStage": True, "name": "Stage",
             "variables": {VARS[name]: [name, 0 if name == "puntos" else ""] for name in VARS}, "lists": {},
             "broadcasts": {}, "blocks": {}, "comments": {}, "currentCostume": 0, "costumes": [backdrop], "sounds": [],
             "volume": 100, "layerOrder": 0, "tempo": 60, "videoTransparency": 50, "videoState": "on",
             "textToSpeechLanguage": None}
    project = {
        "targets": [stage, sprite("Cesta", basket_script(), basket, 1, 0, -140), sprite("Estrella", star_script(), star, 2, 0, 170)],
        "monitors": [{"id": VARS["puntos"], "mode": "large", "opcode": "data_variable", "params": {"VARIABLE": "puntos"},
                      "spriteName": None, "value": 0, "width": 0, "height": 0, "x": 5, "y": 5, "visible": True,
                      "sliderMin": 0, "sliderMax": 100, "isDiscrete": True}],
        "extensions": ["riim"],
        "meta": {"semver": "3.0.0", "vm": "15.1.1", "agent": "RIIM"},
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.json", json.dumps(project, ensure_ascii=False))
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


if __name__ == "__main__":
    import sys
    open(sys.argv[1], "wb").write(build())
