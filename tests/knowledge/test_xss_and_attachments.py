from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from knowledge.models import Attachment
from tests.ledger import entries

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EVIL_MD = '<script>alert(1)</script>\n\n[click](javascript:alert(2))\n\n<img src=x onerror="alert(3)">'
EVIL_TITLE = '<script>alert("title")</script>'


def test_markdown_and_title_xss_are_neutralized_on_pages(write, client_as):
    article = write(EVIL_TITLE, EVIL_MD)
    client = client_as("viewer")
    page = client.get(f"/knowledge/articles/{article.pk}/").content.decode()
    index = client.get("/knowledge/").content.decode()
    for html in (page, index):
        assert '<script>alert("title")' not in html
        assert "alert(1)</script>" not in html
        assert "javascript:alert" not in html
        assert "onerror=" not in html
    assert "&lt;script&gt;alert(&quot;title&quot;)" in page


def test_search_snippet_xss_is_neutralized_on_the_page(write, client_as):
    write("Payload", 'restart now <script>alert("snip")</script> restart')
    html = client_as("viewer").get("/knowledge/", {"q": "restart"}).content.decode()
    assert "<mark>restart</mark>" in html
    assert '<script>alert("snip")' not in html


def test_attachment_upload_and_download_for_readers(write, client_as, settings, tmp_path):
    settings.KNOWLEDGE_MEDIA_ROOT = tmp_path
    article = write("Diagram", "see attachment")
    client = client_as("operator")
    upload = SimpleUploadedFile("../../<img src=x onerror=alert(1)>.png", PNG, content_type="text/html")
    response = client.post(f"/knowledge/articles/{article.pk}/attachments/", {"file": upload})
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.content_type == "image/png"
    assert "<" not in attachment.name and "/" not in attachment.name and ".." not in attachment.name
    assert str(tmp_path) in attachment.file.path
    assert entries("knowledge.attachment_added", target=article).get().data["name"] == attachment.name
    page = client_as("viewer").get(f"/knowledge/articles/{article.pk}/").content.decode()
    assert "onerror=alert" not in page.replace(attachment.name, "")
    download = client_as("viewer").get(f"/knowledge/articles/{article.pk}/attachments/{attachment.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG
    assert download["Content-Type"] == "image/png"
    assert download["Content-Disposition"].startswith("attachment")
    assert (
        client_as("outsider")
        .get(f"/knowledge/articles/{article.pk}/attachments/{attachment.pk}/")
        .status_code
        == 404
    )


def test_attachment_type_refused_with_a_clear_error(write, client_as, settings, tmp_path):
    settings.KNOWLEDGE_MEDIA_ROOT = tmp_path
    article = write("Diagram", "")
    upload = SimpleUploadedFile(
        "page.png", b"<html><script>alert(1)</script></html>", content_type="image/png"
    )
    response = client_as("operator").post(f"/knowledge/articles/{article.pk}/attachments/", {"file": upload})
    assert response.status_code == 400
    assert "This type of file is not accepted" in response.content.decode()
    assert not Attachment.objects.exists()


@override_settings(KNOWLEDGE_ATTACHMENT_MAX_BYTES=100)
def test_attachment_size_refused_with_a_clear_error(write, client_as, settings, tmp_path):
    settings.KNOWLEDGE_MEDIA_ROOT = tmp_path
    article = write("Diagram", "")
    upload = SimpleUploadedFile("big.png", PNG + b"\x00" * 200, content_type="image/png")
    response = client_as("operator").post(f"/knowledge/articles/{article.pk}/attachments/", {"file": upload})
    assert response.status_code == 400
    assert "attachments are limited to 100 bytes" in response.content.decode()
    assert not Attachment.objects.exists()
