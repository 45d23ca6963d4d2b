"""Production settings pass `manage.py check --deploy` when configured through the environment."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def deploy_check(tmp_path_factory):
    """Run `check --deploy` under production settings and return (exit code, output)."""
    var_dir = tmp_path_factory.mktemp("var")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "RIIM_", "CELERY_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="riim_site.settings.production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="riim.example.org",
        DEBUG="0",
        DATABASE_URL=f"sqlite:///{var_dir / 'riim.sqlite3'}",
        RIIM_VAR_DIR=str(var_dir),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, result.stdout + result.stderr


def test_deploy_check_has_no_security_warnings(deploy_check):
    """No security.* warning: HTTPS, HSTS, secure cookies, a strong secret key and DEBUG off."""
    code, output = deploy_check
    assert code == 0, output
    assert "(security." not in output, output


def test_deploy_check_reports_no_issues_at_all(deploy_check):
    """The deploy check of production settings is silent: no warnings from any app."""
    code, output = deploy_check
    assert code == 0, output
    assert "System check identified no issues" in output, output
