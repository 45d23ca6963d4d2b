"""docker-compose.yml describes the scaled-out platform (Docker itself cannot run here, so its structure is checked)."""

import shlex
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DJANGO_SERVICES = ("web", "worker", "trainer", "beat")


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def _command(service) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def _option(argv, *names):
    for i, arg in enumerate(argv):
        if arg in names:
            return argv[i + 1]
        for name in names:
            if name.startswith("--") and arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def _volume_map(service) -> dict:
    return {v.split(":")[1]: v.split(":")[0] for v in service.get("volumes", [])}


def test_all_services_are_declared(compose):
    """Web, both workers, beat, Redis and PostgreSQL are services; named volumes exist for data."""
    assert set(compose["services"]) >= {*DJANGO_SERVICES, "redis", "postgres"}
    assert {"media", "models", "postgres"} <= set(compose["volumes"])


def test_web_runs_gunicorn_and_migrates(compose):
    """The web service migrates, then serves with gunicorn on port 8000."""
    web = compose["services"]["web"]
    assert "gunicorn riim_site.wsgi:application" in web["command"]
    assert "migrate" in web["command"]
    assert any(str(p).endswith(":8000") for p in web["ports"])


def test_workers_listen_on_their_queues(compose):
    """The general worker takes default and lab; the trainer takes training, one task per fresh child."""
    worker = _command(compose["services"]["worker"])
    trainer = _command(compose["services"]["trainer"])
    assert worker[:4] == ["celery", "-A", "riim_site", "worker"]
    assert set(_option(worker, "-Q", "--queues").split(",")) == {"default", "lab"}
    assert trainer[:4] == ["celery", "-A", "riim_site", "worker"]
    assert _option(trainer, "-Q", "--queues") == "training"
    assert _option(trainer, "-c", "--concurrency") == "1"
    assert _option(trainer, "--max-tasks-per-child") == "1"
    assert _command(compose["services"]["beat"])[:4] == ["celery", "-A", "riim_site", "beat"]


def test_django_services_share_database_broker_and_media(compose):
    """Every Django process sees the same DATABASE_URL, broker, MEDIA_ROOT and media/models volumes."""
    services = [compose["services"][name] for name in DJANGO_SERVICES]
    envs = [s["environment"] for s in services]
    for key in ("DATABASE_URL", "CELERY_BROKER_URL", "MEDIA_ROOT", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"):
        assert len({e[key] for e in envs}) == 1, key
    env = envs[0]
    assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:" in env["DATABASE_URL"]
    assert env["CELERY_BROKER_URL"].startswith("redis://redis:")
    assert env["DJANGO_SETTINGS_MODULE"] == "riim_site.settings.production"
    for service in services:
        volumes = _volume_map(service)
        assert volumes[env["MEDIA_ROOT"]] == "media"
        assert volumes[env["MEDIA_ROOT"] + "/models"] == "models"


def test_django_services_wait_for_healthy_postgres_and_redis(compose):
    """Django services start after PostgreSQL and Redis pass their health checks."""
    for name in DJANGO_SERVICES:
        depends = compose["services"][name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
    assert "healthcheck" in compose["services"]["postgres"]
    assert "healthcheck" in compose["services"]["redis"]
