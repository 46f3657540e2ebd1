"""Views issuing the generated workload's statements on the ``postgres`` alias (or the alias
named by ``?db=``: the SQLite copy test runs some of them on ``default``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from tests.indexes.ticketapp.models import Queue, Ticket

DB = "postgres"


def by_number(request: HttpRequest) -> HttpResponse:
    db = request.GET.get("db", DB)
    found = list(Ticket.objects.using(db).filter(number=int(request.GET["n"])))
    return HttpResponse(str(len(found)))


def open_since(request: HttpRequest) -> HttpResponse:
    tickets = Ticket.objects.using(request.GET.get("db", DB)).filter(
        status=request.GET["status"], created_at__gte=request.GET["since"]
    )
    return HttpResponse(str(len(list(tickets))))


def recent(request: HttpRequest) -> HttpResponse:
    latest = list(Ticket.objects.using(DB).order_by("-updated_at")[:20])
    return HttpResponse(str(len(latest)))


def owned(request: HttpRequest) -> HttpResponse:
    live = Ticket.objects.using(DB).filter(deleted_at__isnull=True, owner_code=request.GET["o"])
    count = live.count()
    first = list(live.order_by("id")[:10])
    return HttpResponse(f"{count} {len(first)}")


def by_email(request: HttpRequest) -> HttpResponse:
    found = list(Ticket.objects.using(DB).filter(email__iexact=request.GET["e"]))
    return HttpResponse(str(len(found)))


def search(request: HttpRequest) -> HttpResponse:
    """``icontains``: served by a trigram GIN index, not a btree."""
    found = list(Ticket.objects.using(DB).filter(email__icontains=request.GET["q"])[:20])
    return HttpResponse(str(len(found)))


def served_already(request: HttpRequest) -> HttpResponse:
    """Statements existing indexes serve, a small table, and a filter no index helps."""
    ticket = Ticket.objects.using(DB).get(pk=int(request.GET["id"]))
    in_queue = list(Ticket.objects.using(DB).filter(queue_id=ticket.queue_id)[:5])
    queues = list(Queue.objects.using(DB).filter(name=request.GET["q"]))
    most = Ticket.objects.using(DB).filter(priority__gte=0).count()
    return HttpResponse(f"{len(in_queue)} {len(queues)} {most}")
