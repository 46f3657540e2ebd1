"""A tiny site for the discovery tests: linked pages, a sitemap, and a page behind a login."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        '<a href="/articles/1/">one</a> <a href="/articles/2/">two</a> '
        '<a href="/about/">about</a> <a href="https://elsewhere.example/">away</a> '
        '<a href="/admin/">admin</a>'
    )


def article(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse(f'<a href="/articles/{pk + 1}/">next</a> <a href="/">home</a>')


def about(request: HttpRequest) -> HttpResponse:
    return HttpResponse("about", content_type="text/plain")


@login_required
def staff(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"hello {request.user.get_username()}")


def sitemap(request: HttpRequest) -> HttpResponse:
    # Sitemaps name the public host; the doctor requests the same paths on its own server.
    urls = "".join(
        f"<url><loc>https://www.example.com{p}</loc></url>"
        for p in ("/", "/articles/7/", "/articles/8/", "/about/")
    )
    return HttpResponse(
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>',
        content_type="application/xml",
    )


urlpatterns = [
    path("", home),
    path("articles/<int:pk>/", article),
    path("about/", about),
    path("staff/", staff),
    path("sitemap.xml", sitemap),
]

without_sitemap = [p for p in urlpatterns if str(p.pattern) != "sitemap.xml"]
