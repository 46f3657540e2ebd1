from __future__ import annotations

from tests.doctor.site_urls import without_sitemap as urlpatterns

__all__ = ["urlpatterns"]
