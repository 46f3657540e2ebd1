from __future__ import annotations

import datetime

from django import forms

from headroom.demo.shop.models import Order, Product


class CheckoutForm(forms.Form):
    product = forms.SlugField(max_length=120, help_text="The product's slug.")
    quantity = forms.IntegerField(min_value=1, max_value=20, initial=1)
    name = forms.CharField(max_length=200)
    email = forms.EmailField()
    address = forms.CharField(max_length=300)
    city = forms.CharField(max_length=100)
    postcode = forms.CharField(max_length=20)

    def clean_product(self) -> Product:
        slug = self.cleaned_data["product"]
        product = Product.objects.filter(slug=slug).first()
        if product is None:
            raise forms.ValidationError(f"There is no product {slug!r}.")
        return product


class OrderSearchForm(forms.Form):
    status = forms.ChoiceField(choices=Order.Status.choices, initial=Order.Status.PAID)
    since = forms.DateField(
        initial=datetime.date(2025, 1, 1),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Orders placed on or after this day.",
    )

    def since_datetime(self) -> datetime.datetime:
        day: datetime.date = self.cleaned_data["since"]
        return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)
