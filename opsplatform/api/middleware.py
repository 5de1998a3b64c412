from django.conf import settings

from opsplatform.api.problems import is_api_path, problem_response


class ApiBodyLimitMiddleware:
    """Refuse an API request whose declared body is over ``API_MAX_BODY_BYTES`` before anything reads it.

    Sits ahead of the session and CSRF middleware so an oversized body costs no database work.
    Bodies that declare no length are bounded by ``BoundedJSONParser`` while they are read.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api_path(request.path):
            declared = request.META.get("CONTENT_LENGTH") or ""
            if declared:
                try:
                    length = int(declared)
                except ValueError:
                    length = -1
                if length < 0:
                    return problem_response(
                        request, 400, detail="The Content-Length header is not a valid length."
                    )
                limit = settings.API_MAX_BODY_BYTES
                if length > limit:
                    return problem_response(
                        request, 413, detail=f"The request body is over the limit of {limit} bytes."
                    )
        return self.get_response(request)
