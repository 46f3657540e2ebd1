"""Discovery against a real running server: scenarios, sitemap, crawl, logged-in users."""

from __future__ import annotations

import urllib.request

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from headroom.cli import UsageError
from headroom.doctor.discover import crawl, discover, from_scenarios, from_sitemap, group_paths

SITE = override_settings(ROOT_URLCONF="tests.doctor.site_urls")
NO_SITEMAP = override_settings(ROOT_URLCONF="tests.doctor.site_urls_nositemap")


@SITE
def test_scenarios_are_grouped_by_url_pattern() -> None:
    targets = from_scenarios(
        [{"path": "/articles/3/", "weight": 4}, {"path": "/about/", "method": "post"}]
    )
    assert [(t.method, t.url_pattern, t.weight) for t in targets] == [
        ("GET", "/articles/<int:pk>/", 4),
        ("POST", "/about/", 1),
    ]
    assert targets[0].view == "tests.doctor.site_urls.article"


@SITE
def test_paths_from_anywhere_are_grouped_with_examples() -> None:
    targets = group_paths(["/", "/articles/1/", "/articles/2/", "/about/", "/articles/1/"])
    assert {t.url_pattern: t.paths for t in targets} == {
        "/": ["/"],
        "/articles/<int:pk>/": ["/articles/1/", "/articles/2/"],
        "/about/": ["/about/"],
    }


@SITE
@pytest.mark.django_db(transaction=True)
def test_the_sitemap_is_read_from_the_running_server(live_server: object) -> None:
    url = str(live_server)
    assert from_sitemap(url) == ["/", "/articles/7/", "/articles/8/", "/about/"]
    source, targets = discover(url, [])
    assert source == "sitemap"
    assert {t.url_pattern for t in targets} == {"/", "/articles/<int:pk>/", "/about/"}


@NO_SITEMAP
@pytest.mark.django_db(transaction=True)
def test_without_a_sitemap_the_site_is_crawled_from_the_home_page(live_server: object) -> None:
    url = str(live_server)
    found = crawl(url, limit=6)
    assert found[0] == "/"
    assert "/about/" in found and "/articles/1/" in found
    assert not any(p.startswith("/admin/") for p in found), "admin links are not followed"
    assert len(found) == 6, "the crawl stops at its limit"
    source, targets = discover(url, [])
    assert source == "crawl"
    assert "/articles/<int:pk>/" in {t.url_pattern for t in targets}


@SITE
@pytest.mark.django_db(transaction=True)
def test_a_scenario_user_gets_a_real_session(live_server: object) -> None:
    User.objects.create_user("alice")
    _, targets = discover(str(live_server), [{"path": "/staff/", "user": "alice"}])
    cookie = "; ".join(f"{k}={v}" for k, v in targets[0].cookies.items())
    request = urllib.request.Request(f"{live_server}/staff/", headers={"Cookie": cookie})
    with urllib.request.urlopen(request) as response:
        assert response.read() == b"hello alice"


@SITE
@pytest.mark.django_db
def test_an_unknown_scenario_user_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="'nobody'"):
        discover("http://127.0.0.1:9", [{"path": "/staff/", "user": "nobody"}])
