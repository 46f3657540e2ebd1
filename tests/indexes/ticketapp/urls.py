from __future__ import annotations

from django.urls import path

from tests.indexes.ticketapp import views

urlpatterns = [
    path("tickets/number/", views.by_number),
    path("tickets/open/", views.open_since),
    path("tickets/recent/", views.recent),
    path("tickets/owned/", views.owned),
    path("tickets/email/", views.by_email),
    path("tickets/search/", views.search),
    path("tickets/served/", views.served_already),
]
