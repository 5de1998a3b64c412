"""Masking secrets for pages: keys keep their stored prefix, everything secret-looking goes."""

import json

from incidents.ingest.masking import MASK, mask_key, mask_text, pretty_payload

KEY = "opi_Ab12cdEFGHijklMNOPqrstUVWX0123"


def test_a_key_keeps_only_its_stored_prefix():
    assert mask_key(KEY) == f"opi_Ab12cd…{MASK}"
    assert mask_key("short") == MASK


def test_free_text():
    text = (
        f"POST /api/v1/integrations/{KEY}/webhook/ Authorization: Bearer abc.def-123 "
        "password=hunter2 token: tok_9f8e7d /ack/s3cr3tlink?x=1 Basic dXNlcjpwYXNz"
    )
    masked = mask_text(text)
    for secret in (KEY, "abc.def-123", "hunter2", "tok_9f8e7d", "s3cr3tlink", "dXNlcjpwYXNz"):
        assert secret not in masked
    assert f"/api/v1/integrations/opi_Ab12cd…{MASK}/webhook/" in masked
    assert f"Authorization: Bearer {MASK}" in masked and f"/ack/{MASK}?x=1" in masked


def test_json_is_indented_and_masked_by_name_and_by_shape():
    body = json.dumps(
        {
            "routing_key": KEY,
            "payload": {"summary": "Disk full", "client_secret": "x" * 30, "apiKey": "abc"},
            "links": [{"href": f"https://ops.example.com/api/v1/integrations/{KEY}/grafana/"}],
            "headers": {"Authorization": "Bearer zzz999zzz"},
            "count": 3,
        }
    )
    pretty = pretty_payload(body)
    assert KEY not in pretty and "x" * 30 not in pretty and "zzz999zzz" not in pretty
    assert '\n  "routing_key": "opi_Ab12cd…••••",\n' in pretty
    assert '"summary": "Disk full"' in pretty and '"count": 3' in pretty
    assert f'"Authorization": "Bearer {MASK}"' in pretty and f'"apiKey": "{MASK}"' in pretty


def test_not_json_is_masked_as_text():
    assert pretty_payload(f"key={KEY}&x=1") == f"key=opi_Ab12cd…{MASK}&x=1"
    assert pretty_payload("") == ""
