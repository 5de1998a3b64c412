"""``/approvals/``: what waits on the viewer's decision; and the page a signed link opens.

A link from a notice names one person, one request and one verdict. Following it asks that person
to sign in (anyone else gets a 404), shows what they are about to decide, and only the POST decides;
the notice's ``link_used_at`` is claimed in the same transaction, so the link works once.
"""

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from opsplatform.accounts.models import Membership
from opsplatform.core.access import requires
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability
from workflows import selectors
from workflows.forms import DecideForm
from workflows.links import read_approval_token
from workflows.models import ApprovalRequest, Notice
from workflows.services.approvals import decide


@requires(Capability.WORKFLOW_VIEW)
def inbox(request):
    waiting = list(selectors.waiting_on(request.organization, request.user)[:100])
    mine = selectors.approvals_for_list(request.organization).filter(requester=request.user, status="pending")
    context = {"waiting": waiting, "mine": list(mine[:50]), "decide_form": DecideForm()}
    if request.htmx and request.GET.get("fragment") == "inner":
        return render(request, "workflows/_approvals_inner.html", context)
    return render(request, "workflows/approvals.html", context)


@never_cache
def approval_link(request, token):
    claim = read_approval_token(token)
    if claim is None:
        return render(request, "workflows/approval_link.html", {"invalid": True}, status=410)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if request.user.pk != claim.user_id:
        raise Http404("No approval matches this link.")
    approval = (
        ApprovalRequest.objects.select_related("run", "organization").filter(pk=claim.approval_id).first()
    )
    membership = Membership.objects.filter(
        user=request.user, organization_id=getattr(approval, "organization_id", None)
    ).first()
    if approval is None or membership is None:
        raise Http404("No approval matches this link.")
    actor = Actor.for_member(request.user, membership.organization, role=membership.role)
    context = {
        "approval": approval,
        "run": approval.run,
        "verdict": claim.verdict,
        "done": False,
        "error": "",
        "form": DecideForm(),
    }
    status = 200
    if request.method == "POST":
        form = DecideForm({"verdict": claim.verdict, "comment": request.POST.get("comment", "")})
        try:
            with transaction.atomic():
                claimed = Notice.objects.filter(
                    pk=claim.notice_id, approval=approval, recipient=request.user, link_used_at__isnull=True
                ).update(link_used_at=timezone.now())
                if not claimed:
                    raise ValidationError("This link was already used.")
                if not form.is_valid():
                    raise ValidationError("A comment is at most 5,000 characters.")
                decide(
                    actor=actor,
                    approval=approval,
                    verdict=claim.verdict,
                    comment=form.cleaned_data["comment"],
                )
        except PermissionDenied as exc:
            context["error"], status = str(exc), 403
        except ValidationError as exc:
            context["error"], status = " ".join(exc.messages), 409
        else:
            context["done"] = True
            approval.refresh_from_db()
    return render(request, "workflows/approval_link.html", context, status=status)
