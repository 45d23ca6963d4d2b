import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riim_site.settings.production")
application = get_wsgi_application()
# Everything loaded at start-up lives as long as the process: keep it out of the garbage
# collector's passes (and, with gunicorn --preload, out of copy-on-write page copies).
gc.collect()
gc.freeze()
