"""Every API error is RFC 9457 problem+json with field-level detail, never a 500 for bad input."""

import io
import json

import pytest
from django.test import RequestFactory
from rest_framework.exceptions import ParseError

from opsplatform.accounts.models import Team
from opsplatform.api import problems
from opsplatform.api.exceptions import PayloadTooLarge
from opsplatform.api.parsers import MAX_JSON_DEPTH, BoundedJSONParser

PROBLEM = "application/problem+json"
TEAMS = "/api/v1/teams/"


def assert_problem(response, status: int, problem_type: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = json.loads(response.content)
    assert body["status"] == status
    assert {"type", "title", "status", "detail", "instance"} <= set(body)
    if problem_type is not None:
        assert body["type"] == f"https://opsplatform.dev/problems/{problem_type}"
    return body


def post_raw(api, path, body: bytes, content_type="application/json", **extra):
    return api.generic("POST", path, body, content_type=content_type, **extra)


@pytest.fixture
def admin_api(api_as):
    return api_as("admin")


@pytest.mark.django_db
class TestMalformedInput:
    def test_malformed_json(self, admin_api):
        response = post_raw(admin_api, TEAMS, b'{"name": "Ops",')

        body = assert_problem(response, 400, "malformed-request")
        assert body["instance"] == TEAMS
        assert "JSON parse error" in body["detail"]
        assert not Team.objects.filter(name="Ops").exists()

    def test_invalid_utf8(self, admin_api):
        response = post_raw(admin_api, TEAMS, b'{"name": "\xff\xfe"}')

        assert_problem(response, 400, "malformed-request")

    def test_non_finite_numbers_are_not_json(self, admin_api):
        response = post_raw(admin_api, TEAMS, b'{"name": "Ops", "description": NaN}')

        assert_problem(response, 400, "malformed-request")

    def test_deep_nesting(self, admin_api):
        depth = MAX_JSON_DEPTH + 1
        response = post_raw(admin_api, TEAMS, b'{"name": ' + b"[" * depth + b"]" * depth + b"}")

        body = assert_problem(response, 400, "malformed-request")
        assert "nested" in body["detail"]

    def test_hostile_nesting_is_a_400_not_a_crash(self, admin_api):
        response = post_raw(admin_api, TEAMS, b"[" * 100_000 + b"]" * 100_000)

        assert_problem(response, 400, "malformed-request")

    def test_form_encoded_body_is_unsupported(self, admin_api):
        response = post_raw(admin_api, TEAMS, b"name=Ops", content_type="application/x-www-form-urlencoded")

        assert_problem(response, 415, "unsupported-media-type")

    def test_errors_are_json_even_when_html_is_preferred(self, admin_api):
        response = post_raw(admin_api, TEAMS, b"{", HTTP_ACCEPT="text/html")

        assert_problem(response, 400)


@pytest.mark.django_db
class TestValidationErrors:
    def test_wrong_types_name_each_field(self, admin_api):
        response = admin_api.post(TEAMS, {"name": ["Ops"], "time_zone": "Mars/Olympus"}, format="json")

        body = assert_problem(response, 400, "validation-error")
        fields = {error["field"]: error for error in body["errors"]}
        assert set(fields) == {"name", "time_zone"}
        assert fields["name"]["code"] == "invalid"
        assert fields["time_zone"]["code"] == "invalid_zone"
        assert body["detail"].startswith(("name: ", "time_zone: "))

    def test_missing_required_field(self, admin_api):
        response = admin_api.post(TEAMS, {}, format="json")

        body = assert_problem(response, 400, "validation-error")
        assert body["errors"] == [{"field": "name", "message": "This field is required.", "code": "required"}]

    def test_unknown_fields_are_named(self, admin_api):
        response = admin_api.post(TEAMS, {"name": "Ops", "colour": "red", "owner": 1}, format="json")

        body = assert_problem(response, 400, "validation-error")
        unknown = {e["field"] for e in body["errors"] if e["code"] == "unknown_field"}
        assert unknown == {"colour", "owner"}
        assert not Team.objects.filter(name="Ops").exists()

    def test_read_only_fields_are_refused_not_ignored(self, admin_api, team):
        response = admin_api.patch(f"{TEAMS}{team.pk}/", {"slug": "renamed"}, format="json")

        body = assert_problem(response, 400, "validation-error")
        assert body["errors"] == [
            {"field": "slug", "message": "This field is read-only.", "code": "read_only"}
        ]
        team.refresh_from_db()
        assert team.slug == "payments"

    def test_unknown_and_invalid_fields_are_reported_together(self, admin_api):
        response = admin_api.post(TEAMS, {"name": "", "colour": "red"}, format="json")

        body = assert_problem(response, 400, "validation-error")
        assert {e["field"] for e in body["errors"]} == {"name", "colour"}

    def test_nested_errors_are_flattened_to_dotted_paths(self, admin_api, team):
        response = admin_api.put(f"{TEAMS}{team.pk}/members/", {"members": [1, "x", -3]}, format="json")

        body = assert_problem(response, 400, "validation-error")
        assert {e["field"] for e in body["errors"]} == {"members.1", "members.2"}

    def test_a_body_that_is_not_an_object(self, admin_api):
        response = admin_api.post(TEAMS, [1, 2], format="json")

        body = assert_problem(response, 400, "validation-error")
        assert body["errors"][0]["field"] == "non_field_errors"

    def test_service_validation_error_becomes_field_error(self, admin_api, team):
        response = admin_api.post(TEAMS, {"name": "Payments"}, format="json")

        body = assert_problem(response, 400, "validation-error")
        assert body["errors"][0]["field"] == "name"
        assert "already exists" in body["errors"][0]["message"]
        assert Team.objects.filter(name="Payments").count() == 1


@pytest.mark.django_db
class TestBodySize:
    def test_declared_length_over_the_limit_is_refused_before_reading(self, admin_api, settings):
        settings.API_MAX_BODY_BYTES = 1024
        payload = json.dumps({"name": "Ops", "description": "x" * 2000}).encode()

        response = post_raw(admin_api, TEAMS, payload)

        body = assert_problem(response, 413, "payload-too-large")
        assert "1024" in body["detail"]
        assert not Team.objects.filter(name="Ops").exists()

    def test_body_at_the_limit_is_accepted(self, admin_api, settings):
        payload = json.dumps({"name": "Ops", "description": ""}).encode()
        padded = payload[:-1] + b" " * 50 + b"}"
        settings.API_MAX_BODY_BYTES = len(padded)

        response = post_raw(admin_api, TEAMS, padded)

        assert response.status_code == 201

    def test_the_limit_also_covers_ingestion_paths(self, client, settings):
        settings.API_MAX_BODY_BYTES = 10

        response = client.generic("POST", "/v2/enqueue", b"x" * 11, content_type="application/json")

        assert_problem(response, 413)

    def test_invalid_content_length(self, admin_api):
        response = post_raw(admin_api, TEAMS, b"{}", CONTENT_LENGTH="ten")

        assert_problem(response, 400)

    def test_parser_stops_reading_past_the_limit(self, settings):
        # Bodies without a declared length reach the parser unchecked; it reads one byte too many, no more.
        settings.API_MAX_BODY_BYTES = 100
        stream = io.BytesIO(b"[" + b"1," * 10_000 + b"1]")

        with pytest.raises(PayloadTooLarge):
            BoundedJSONParser().parse(stream)
        assert stream.tell() == 101

    def test_parser_accepts_a_small_document(self):
        assert BoundedJSONParser().parse(io.BytesIO(b'{"a": [1, {"b": null}]}')) == {"a": [1, {"b": None}]}

    def test_parser_rejects_bad_utf8(self):
        with pytest.raises(ParseError):
            BoundedJSONParser().parse(io.BytesIO(b'"\xc3\x28"'))


@pytest.mark.django_db
class TestRoutingErrors:
    @pytest.mark.parametrize(
        "path", ["/api/", "/api", "/api/v1/", "/api/v2/teams/", "/api/v1/nope/", "/api/v1/teams/abc/"]
    )
    def test_unknown_api_route_is_a_problem_404(self, admin_api, path):
        response = admin_api.get(path, follow=True)

        body = assert_problem(response, 404, "not-found")
        assert body["instance"].startswith("/api")

    def test_missing_object_is_a_problem_404(self, admin_api):
        response = admin_api.get(f"{TEAMS}999999999/")

        assert_problem(response, 404, "not-found")

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("delete", "/api/v1/organizations/current/"),
            ("post", "/api/v1/members/"),
            ("put", "/api/v1/tokens/"),
        ],
    )
    def test_method_not_allowed(self, admin_api, method, path):
        response = getattr(admin_api, method)(path, {}, format="json")

        body = assert_problem(response, 405, "method-not-allowed")
        assert method.upper() in body["detail"]
        assert "GET" in response["Allow"]

    def test_put_on_an_organization_is_not_allowed(self, admin_api, org):
        response = admin_api.put(f"/api/v1/organizations/{org.pk}/", {"name": "x"}, format="json")

        assert_problem(response, 405)

    def test_anonymous_gets_401_with_a_challenge(self, client):
        response = client.get(TEAMS)

        body = assert_problem(response, 401, "not-authenticated")
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert body["instance"] == TEAMS

    def test_problem_carries_the_request_id(self, admin_api):
        response = admin_api.get("/api/v1/nope/", HTTP_X_REQUEST_ID="req-12345678")

        body = assert_problem(response, 404)
        assert body["request_id"] == "req-12345678"


class TestDjangoErrorHandlers:
    def test_server_error_under_api_is_a_problem(self):
        response = problems.handler500(RequestFactory().get("/api/v1/teams/"))

        body = assert_problem(response, 500, "server-error")
        assert body["instance"] == "/api/v1/teams/"
        assert "Traceback" not in body["detail"]

    def test_bad_request_under_api_is_a_problem(self):
        assert_problem(problems.handler400(RequestFactory().get("/api/v1/teams/"), None), 400)

    @pytest.mark.django_db
    def test_errors_outside_the_api_are_pages(self, client):
        response = client.get("/no-such-page/")

        assert response.status_code == 404
        assert not response["Content-Type"].startswith(PROBLEM)

    def test_server_error_page_outside_the_api(self):
        response = problems.handler500(RequestFactory().get("/incidents/"))

        assert response.status_code == 500
        assert not response["Content-Type"].startswith(PROBLEM)
