from __future__ import annotations

from django.db import models


class Category(models.Model):
    name = models.CharField(max_length=50)


class Tag(models.Model):
    name = models.CharField(max_length=50)


class Product(models.Model):
    name = models.CharField(max_length=50)
    price = models.IntegerField()
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="products")
    tags = models.ManyToManyField(Tag, related_name="products")


class Review(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reviews")
    stars = models.IntegerField()


def seed() -> None:
    categories = [Category.objects.create(name=f"c{n}") for n in range(5)]
    tags = [Tag.objects.create(name=f"t{n}") for n in range(5)]
    for n in range(100):
        product = Product.objects.create(
            name=f"p{n}", price=n % 97, category=categories[n % len(categories)]
        )
        product.tags.set(tags[: n % 5])
        for stars in range(n % 4):
            Review.objects.create(product=product, stars=stars + 2)
