"""Models of the generated workload: a big ticket table with known missing indexes, an
unused index (``reference``) and a foreign key index made redundant by a Meta index."""

from __future__ import annotations

from django.db import models


class Queue(models.Model):
    name = models.CharField(max_length=50)


class Ticket(models.Model):
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="tickets")
    number = models.IntegerField()
    status = models.CharField(max_length=20)
    priority = models.IntegerField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    email = models.CharField(max_length=200)
    owner_code = models.CharField(max_length=20)
    deleted_at = models.DateTimeField(null=True)
    # Never queried: its index is unused.
    reference = models.CharField(max_length=30, db_index=True)

    class Meta:
        # Makes the foreign key's own index on queue_id a redundant prefix.
        indexes = [models.Index(fields=["queue", "created_at"], name="ticket_queue_created_idx")]
