"""Labels changing schedule the automatic quick retrain (the labeling app knows nothing of it)."""
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver


@receiver(post_save, sender="labeling.Label", dispatch_uid="quick_retrain_on_label")
def label_saved(sender, instance, created, **kwargs):
    if not created:
        return
    from apps.training.automation import quick_retrain_schedule

    project_id = instance.image.project_id
    # robust: a broker that is down must not fail the label; the next label schedules again.
    transaction.on_commit(lambda: quick_retrain_schedule(project_id=project_id), robust=True)
