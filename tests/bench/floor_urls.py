"""A URLconf for the single-event benchmark's floor: ``/v2/enqueue`` answered by a view that reads
the body and answers PagerDuty's 202 without looking at it, so what is left is the request's way
through the ingestion handler (threads, Django's handler, the lean middleware, the response)."""

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from incidents.ingest.formats.pagerduty import accepted_body


@csrf_exempt
def answer_only(request):
    request.read()
    return JsonResponse(accepted_body("bench"), status=202)


urlpatterns = [path("v2/enqueue", answer_only)]
