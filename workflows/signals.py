"""A new organization gets the built-in workflow templates in the transaction that creates it.

Accounts sit below workflows and cannot call it; the organization's ``post_save`` is the seam
(set-up data, not business flow: nothing else reacts to it).
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from opsplatform.accounts.models import Organization
from workflows.services.definitions import install_builtins


@receiver(post_save, sender=Organization, dispatch_uid="workflows.install_builtins")
def install_for_new_organization(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        install_builtins(instance)
