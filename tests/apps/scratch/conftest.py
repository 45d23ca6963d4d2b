import pytest


@pytest.fixture(scope="module")
def camera_chromium(tmp_path_factory):
    """A headless Chromium whose camera plays a generated video (Scratch asks for at least 480 × 360)."""
    from tests.webcam import start_chromium_with_camera, write_y4m

    video = write_y4m(tmp_path_factory.mktemp("camera") / "camera.y4m", width=640, height=480)
    driver = start_chromium_with_camera(video)
    driver.set_window_size(1280, 900)
    yield driver
    driver.quit()
