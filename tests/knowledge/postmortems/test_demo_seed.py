from io import StringIO

import pytest
from django.core.management import call_command

from knowledge.postmortems.models import Postmortem, PostmortemStatus
from knowledge.postmortems.selectors import verify_postmortem


@pytest.mark.django_db
def test_seed_demo_publishes_two_postmortems_per_organization():
    call_command("seed_demo", stdout=StringIO())
    first = Postmortem.objects.count()
    call_command("seed_demo", stdout=StringIO())
    assert Postmortem.objects.count() == first > 0
    for org_id in Postmortem.objects.values_list("organization_id", flat=True).distinct():
        published = Postmortem.objects.filter(organization_id=org_id, status=PostmortemStatus.PUBLISHED)
        assert published.count() == 2
        for postmortem in published:
            statuses = sorted(postmortem.action_items.values_list("task__status", flat=True))
            assert statuses == ["done", "open"]
            assert postmortem.timeline.exists()
            assert verify_postmortem(postmortem, check_chain=False).ok
