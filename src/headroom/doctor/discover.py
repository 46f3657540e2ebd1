"""What to load: ``HEADROOM["SCENARIOS"]``, else the sitemap, else a same-site crawl from ``/``.

Paths are grouped by URL pattern (``resolve(path).route``), the unit every figure and finding
of the doctor is reported under.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections import OrderedDict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from headroom.cli import UsageError


@dataclass
class Target:
    """One thing the load generator requests, with its share of the traffic."""

    method: str
    url_pattern: str
    paths: list[str]
    weight: int = 1
    view: str | None = None
    data: dict[str, Any] | None = None
    user: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.method} {self.url_pattern}"

    def to_plan(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "method": self.method,
            "paths": self.paths,
            "weight": self.weight,
            "data": self.data,
            "headers": self.headers,
            "cookies": self.cookies,
        }


def url_pattern(path: str) -> tuple[str, str | None]:
    """The URL pattern (``/products/<slug:slug>/``) and view that ``path`` resolves to."""
    from django.urls import Resolver404, resolve

    bare = urllib.parse.urlsplit(path).path or "/"
    try:
        match = resolve(bare)
    except Resolver404:
        return bare, None
    route = match.route or ""
    return "/" + route.lstrip("^"), match._func_path


def from_scenarios(scenarios: list[dict[str, Any]]) -> list[Target]:
    targets = []
    for scenario in scenarios:
        pattern, view = url_pattern(scenario["path"])
        targets.append(
            Target(
                method=str(scenario.get("method", "GET")).upper(),
                url_pattern=pattern,
                paths=[scenario["path"]],
                weight=int(scenario.get("weight", 1)),
                view=view,
                data=scenario.get("data"),
                user=scenario.get("user"),
                headers=dict(scenario.get("headers") or {}),
            )
        )
    return targets


def group_paths(paths: list[str], per_pattern: int = 5) -> list[Target]:
    """One GET target per URL pattern, with up to ``per_pattern`` example paths each."""
    groups: OrderedDict[str, Target] = OrderedDict()
    for path in paths:
        pattern, view = url_pattern(path)
        target = groups.setdefault(pattern, Target("GET", pattern, [], view=view))
        if len(target.paths) < per_pattern and path not in target.paths:
            target.paths.append(path)
    return list(groups.values())


def _fetch(url: str, timeout: float = 30.0) -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers={"User-Agent": "headroom-doctor"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(5_000_000).decode("utf-8", "replace")
            return response.status, response.headers.get("Content-Type", ""), body
    except urllib.error.HTTPError as exc:
        return exc.code, "", ""
    except (urllib.error.URLError, OSError):
        return 0, "", ""


_SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def from_sitemap(base_url: str, limit: int = 500) -> list[str]:
    """Same-site paths listed by ``/sitemap.xml`` (following a sitemap index)."""
    paths: list[str] = []
    queue = [base_url + "/sitemap.xml"]
    seen: set[str] = set()
    host = urllib.parse.urlsplit(base_url).netloc
    while queue and len(paths) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        status, _, body = _fetch(url)
        if status != 200 or not body:
            continue
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            continue
        is_index = root.tag == f"{_SITEMAP_NS}sitemapindex"
        for loc in root.iter(f"{_SITEMAP_NS}loc"):
            text = (loc.text or "").strip()
            parts = urllib.parse.urlsplit(text)
            # Sitemaps name the public host; the pages are served here.
            local = urllib.parse.urlunsplit(("http", host, parts.path, parts.query, ""))
            if is_index:
                queue.append(local)
            else:
                paths.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return paths[:limit]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


_SKIP = ("/admin/", "/logout", "/static/", "/media/")


def crawl(base_url: str, limit: int = 200) -> list[str]:
    """Same-site pages reachable from ``/`` by links, breadth first."""
    host = urllib.parse.urlsplit(base_url).netloc
    queue, seen = ["/"], {"/"}
    found: list[str] = []
    while queue and len(found) < limit:
        path = queue.pop(0)
        status, content_type, body = _fetch(base_url + path)
        if status != 200:
            continue
        found.append(path)
        if "html" not in content_type:
            continue
        parser = _Links()
        parser.feed(body)
        for href in parser.hrefs:
            parts = urllib.parse.urlsplit(urllib.parse.urljoin(base_url + path, href))
            if parts.scheme not in ("http", "https") or parts.netloc != host:
                continue
            link = parts.path + (f"?{parts.query}" if parts.query else "")
            if link not in seen and not link.startswith(_SKIP):
                seen.add(link)
                queue.append(link)
    return found


def session_cookie_for(username: str) -> dict[str, str]:
    """A logged-in session for ``username``, made directly in the session store."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )

    model = get_user_model()
    try:
        user = model._default_manager.get_by_natural_key(username)
    except model.DoesNotExist:
        raise UsageError(
            f"a scenario logs in as {username!r}, but there is no such user. Create it "
            f"(python manage.py createsuperuser) or fix the scenario's 'user'."
        ) from None
    engine = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return {settings.SESSION_COOKIE_NAME: str(session.session_key)}


def discover(base_url: str, scenarios: list[dict[str, Any]]) -> tuple[str, list[Target]]:
    """Return how targets were found (``scenarios``, ``sitemap`` or ``crawl``) and them."""
    if scenarios:
        source, targets = "scenarios", from_scenarios(scenarios)
    else:
        paths = from_sitemap(base_url)
        source = "sitemap"
        if not paths:
            source, paths = "crawl", crawl(base_url)
        targets = group_paths(paths)
    if not targets:
        raise UsageError(
            "found nothing to load: no HEADROOM['SCENARIOS'], no /sitemap.xml, and / links "
            "to no page. List what to load, e.g.\n"
            "HEADROOM = {'SCENARIOS': [{'path': '/', 'weight': 3}, "
            "{'path': '/products/', 'weight': 5}]}"
        )
    sessions: dict[str, dict[str, str]] = {}
    for target in targets:
        if target.user:
            if target.user not in sessions:
                sessions[target.user] = session_cookie_for(target.user)
            target.cookies.update(sessions[target.user])
    return source, targets
