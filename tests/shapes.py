"""The generated pictures every model test trains on: a coloured shape on a noisy grey background."""
import numpy as np
from PIL import Image, ImageDraw

# Each class has its own shape and a dominant colour, drawn at a random place and size.
COLOURS = {"circle": (220, 40, 40), "square": (40, 200, 60), "triangle": (40, 70, 220)}


def draw_shape(label: str, rng: np.random.Generator, size: int, background: tuple[int, int] = (60, 160)) -> Image.Image:
    """Draw one picture of a class; ``background`` is the range of the grey noise behind the shape."""
    picture = Image.fromarray(rng.integers(*background, size=(size, size, 3), dtype=np.uint8))
    pen = ImageDraw.Draw(picture)
    half = int(rng.integers(size // 5, size // 3))
    cx, cy = (int(v) for v in rng.integers(half, size - half, size=2))
    colour = tuple(int(np.clip(c + rng.integers(-30, 30), 0, 255)) for c in COLOURS[label])
    box = [cx - half, cy - half, cx + half, cy + half]
    if label == "circle":
        pen.ellipse(box, fill=colour)
    elif label == "square":
        pen.rectangle(box, fill=colour)
    else:
        pen.polygon([(cx, cy - half), (cx - half, cy + half), (cx + half, cy + half)], fill=colour)
    return picture
