from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from headroom.demo.shop import views

app_name = "shop"

urlpatterns = [
    path("", views.home, name="home"),
    path("products/", views.product_list, name="product-list"),
    path("products/<slug:slug>/", views.product_detail, name="product-detail"),
    path("categories/<slug:slug>/", views.category_detail, name="category-detail"),
    path("categories/<slug:slug>/prices.csv", views.price_list_csv, name="price-list-csv"),
    path("checkout/", views.checkout, name="checkout"),
    path("account/", views.account, name="account"),
    path("account/login/", auth_views.LoginView.as_view(), name="login"),
    path("account/logout/", auth_views.LogoutView.as_view(next_page="/"), name="logout"),
    path("staff/orders/", views.order_search, name="order-search"),
]
