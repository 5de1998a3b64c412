"""The e-mail header policy of pages (``QuickFolding``) writes every header exactly as ``compat32``
(the policy Django's messages use) does: the same bytes, or the same error."""

from email.policy import compat32

from django.core.mail import EmailMessage
from hypothesis import given, settings
from hypothesis import strategies as st

from notifications.senders.email import QUICK_FOLDING, PageMail

NAMES = st.sampled_from(["Subject", "To", "From", "Message-ID", "X-OpsPlatform-Delivery", "Auto-Submitted"])
# Mostly what headers hold (printable ASCII, spaces, tabs), with controls, line breaks and non-ASCII.
VALUES = st.one_of(
    st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from(" \t"), max_size=90
    ),
    st.text(max_size=90),
    st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=90),
)


def _outcome(fold, name: str, value: str):
    try:
        return fold(name, value)
    except Exception as exc:  # the same error, or the same bytes
        return type(exc)


@settings(max_examples=3000, deadline=None)
@given(name=NAMES, value=VALUES, linesep=st.sampled_from(["\n", "\r\n"]))
def test_every_header_is_written_as_compat32_writes_it(name, value, linesep):
    quick, usual = QUICK_FOLDING.clone(linesep=linesep), compat32.clone(linesep=linesep)
    assert _outcome(quick.fold, name, value) == _outcome(usual.fold, name, value)
    assert _outcome(quick.fold_binary, name, value) == _outcome(usual.fold_binary, name, value)


def test_a_page_mail_is_the_same_bytes_as_djangos():
    fields = {
        "subject": "[P1] Checkout errors above 5% — Payments API (#12345)",  # non-ASCII: encoded
        "body": "Checkout errors above 5%\n\nAcknowledge: https://ops.example.test/ack/abc\n",
        "from_email": "OpsPlatform <ops@example.test>",
        "to": ["oncall@example.test", "Ünal Example <unal@example.test>"],
        "headers": {
            "X-OpsPlatform-Delivery": "a" * 64,  # too long for its line: folded
            "Auto-Submitted": "auto-generated",
            "Message-ID": "<179645851262.24179@ops.example.test>",
            "Date": "Sat, 05 Dec 2026 08:15:12 -0000",
        },
    }
    quick = PageMail(**fields).message()
    assert quick.policy is QUICK_FOLDING
    assert quick.as_bytes(linesep="\r\n") == EmailMessage(**fields).message().as_bytes(linesep="\r\n")
