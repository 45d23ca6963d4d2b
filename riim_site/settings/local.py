"""Local development: the embedded defaults (SQLite database, SQLite broker), debug on."""
from riim_site.env import env
from riim_site.settings.base import *  # noqa: F401,F403

DEBUG = env.bool("DEBUG", default=True)
