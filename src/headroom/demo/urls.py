from __future__ import annotations

from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path

from headroom.demo.shop.sitemaps import SITEMAPS

urlpatterns = [
    path("", include("headroom.demo.shop.urls")),
    path("admin/", admin.site.urls),
    path("sitemap.xml", sitemap_views.index, {"sitemaps": SITEMAPS}, name="sitemap-index"),
    path(
        "sitemap-<section>.xml",
        sitemap_views.sitemap,
        {"sitemaps": SITEMAPS},
        name="django.contrib.sitemaps.views.sitemap",
    ),
]
