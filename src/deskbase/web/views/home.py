from django.contrib.auth.decorators import login_required
from django.http import HttpResponse

from deskbase.accounts.requests import AuthedRequest
from deskbase.tickets.permissions import is_staff_member
from deskbase.web.views import desk, portal


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    """The start page: an agent's own queue, a customer's tickets (rendered, not redirected)."""
    if is_staff_member(request.user):
        return desk.queue(request, slug="mine")
    return portal.my_tickets(request)
