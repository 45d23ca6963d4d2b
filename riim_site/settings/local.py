"""The embedded defaults of `make run` (SQLite database and broker); debug only when DEBUG=1."""
from riim_site.env import env
from riim_site.settings.base import *  # noqa: F401,F403

# Off unless asked for (`DEBUG=1 make run`): students must never see debug pages that list every URL.
DEBUG = env.bool("DEBUG", default=False)
