import os

from django.core.wsgi import get_wsgi_application

from deskbase import config
from deskbase.core.request_buffer import BufferedRequests

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deskbase.settings")
# Bodies read in full first, then at most DESKBASE_WEB_THREADS requests of this
# process in Django at once (deskbase.core.request_buffer says why).
application = BufferedRequests(
    get_wsgi_application(),
    slots=config.env_int("DESKBASE_WEB_THREADS", 2),
    read_timeout=config.env_int("DESKBASE_WEB_READ_TIMEOUT", 15),
)
