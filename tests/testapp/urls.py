from __future__ import annotations

from django.urls import path

from tests.testapp import views

urlpatterns = [
    path("categories/", views.category_names),
    path("categories/joined/", views.category_names_joined),
    path("reviews/counts/", views.review_counts),
    path("reviews/counts/prefetched/", views.review_counts_prefetched),
    path("tags/", views.tag_names),
    path("pages/products/", views.products_page),
    path("pages/reviews/", views.reviews_page),
    path("pages/products/jinja/", views.products_page_jinja),
    path("products/<int:pk>/", views.product_detail, name="product-detail"),
    path("raw/", views.raw_count),
    path("postgres/", views.postgres_products),
    path("slow/", views.slow_count),
    path("call-out/", views.call_out),
    path("call-out/httpx/", views.call_out_httpx),
    path("async/call-out/httpx/", views.async_call_out_httpx),
    path("async/call-out/aiohttp/", views.async_call_out_aiohttp),
    path("email/", views.send_email),
    path("stream/text/", views.stream_text),
    path("stream/lines/", views.stream_lines),
    path("stream/async/", views.stream_lines_async),
    path("async/products/", views.async_products),
    path("broken/", views.broken),
    path("static/echo/", views.echo),
    path("echo/", views.echo),
]
