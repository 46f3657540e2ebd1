from __future__ import annotations

# The bases are generic only in django-stubs, so they stay unsubscripted here.
from django.contrib import admin

from headroom.demo.shop.models import Category, Customer, Order, OrderItem, Product, Review


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "slug")
    search_fields = ("name",)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "category", "price", "created_at")
    list_filter = ("category",)
    list_select_related = ("category",)
    search_fields = ("name", "slug")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "email", "city", "joined_at")
    search_fields = ("email",)
    raw_id_fields = ("user",)


class OrderItemInline(admin.TabularInline):  # type: ignore[type-arg]
    model = OrderItem
    raw_id_fields = ("product",)
    extra = 0


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("reference", "customer", "status", "placed_at", "total")
    list_filter = ("status",)
    list_select_related = ("customer",)
    search_fields = ("reference", "email")
    raw_id_fields = ("customer",)
    inlines = (OrderItemInline,)


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("title", "product", "rating", "created_at")
    list_select_related = ("product",)
    raw_id_fields = ("product", "customer")
