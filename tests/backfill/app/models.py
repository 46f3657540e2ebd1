"""Tables the backfill tests fill in."""

from __future__ import annotations

from django.db import models


class Counter(models.Model):
    """``hits`` counts how many times a backfill processed the row: it must end at 1."""

    value = models.IntegerField(null=True)
    hits = models.IntegerField(default=0)


class Coded(models.Model):
    """A text primary key: batches are keyset ranges."""

    code = models.CharField(max_length=20, primary_key=True)
    label = models.CharField(max_length=40, blank=True)
    hits = models.IntegerField(default=0)


class Entry(models.Model):
    """A composite primary key: the cursor is compared as a row value."""

    pk = models.CompositePrimaryKey("tenant", "seq")
    tenant = models.IntegerField()
    seq = models.IntegerField()
    hits = models.IntegerField(default=0)


class Price(models.Model):
    sku = models.CharField(max_length=20, unique=True)
    cents = models.IntegerField(null=True)


class Observed(models.Model):
    """What a batch's transaction ran with, as PostgreSQL showed it to ``process``."""

    lock_timeout = models.CharField(max_length=20, blank=True)
    statement_timeout = models.CharField(max_length=20, blank=True)
    synchronous_commit = models.CharField(max_length=20, blank=True)
    hits = models.IntegerField(default=0)


class WriteWindow(models.Model):
    """When one batch of ``MarkWriteWindows`` wrote, by the database's clock, and in which
    backend: written in the batch's own transaction, so only committed batches have one."""

    backend = models.IntegerField()
    started = models.DateTimeField()
    ended = models.DateTimeField()
