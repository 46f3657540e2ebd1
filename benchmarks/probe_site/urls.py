from __future__ import annotations

from django.conf import settings
from django.urls import include, path

from probe_site import views

urlpatterns = [path("", views.page)]
if settings.VARIANT == "silk":
    urlpatterns.append(path("silk/", include("silk.urls", namespace="silk")))
