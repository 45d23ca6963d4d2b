"""A fake camera for the browser tests: a generated .y4m video fed to Chromium's fake capture device."""
from pathlib import Path

import numpy as np

from tests.browser import CHROMEDRIVER, CHROMIUM, FLAGS

WIDTH, HEIGHT, FPS = 320, 240, 10


def write_y4m(path: Path, frames: int = 30, seed: int = 0, width: int = WIDTH, height: int = HEIGHT) -> Path:
    """Write a 4:2:0 video of a bright square moving over noise: every frame differs from the others."""
    rng = np.random.default_rng(seed)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for index in range(frames):
            luma = rng.integers(40, 120, (height, width), dtype=np.uint8)
            x = 20 + (index * 9) % (width - 100)
            luma[70:170, x:x + 80] = 230
            chroma = np.full((height // 2, width // 2), 128, np.uint8)
            chroma[35:85, x // 2:x // 2 + 40] = 60 + index % 40
            out.write(b"FRAME\n" + luma.tobytes() + chroma.tobytes() + np.full_like(chroma, 140).tobytes())
    return path


def start_chromium_with_camera(video: Path | None):
    """Return a headless Chromium whose camera plays ``video`` (None: no camera device at all) and is always allowed."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument("--use-fake-ui-for-media-stream")
    if video is not None:
        options.add_argument("--use-fake-device-for-media-stream")
        options.add_argument(f"--use-file-for-fake-video-capture={video}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(120)
    return driver
