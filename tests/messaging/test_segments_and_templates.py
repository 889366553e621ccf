from __future__ import annotations

import pytest

from backend.messaging import message_templates
from backend.messaging.template_sandbox import TemplateRefused, render_untrusted
from channels.segments import count_segments


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),  # 153 per part once split
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # the extension table costs two septets each
        ("{" * 81, "GSM-7", 162, 2),
        ("Café à 10h, Ñ ü ß", "GSM-7", 17, 1),
        ("\u2019" + "a" * 69, "UCS-2", 70, 1),  # one curly apostrophe and the message is UCS-2
        ("\u2019" + "a" * 70, "UCS-2", 71, 2),
        ("😀" * 35, "UCS-2", 70, 1),  # an emoji is two UTF-16 units
        ("😀" * 34 + "ab", "UCS-2", 70, 1),
        ("a" * 134 + "😀", "UCS-2", 136, 3),
    ],
)
def test_segment_counts(text, encoding, units, segments):
    counted = count_segments(text)
    assert (counted.encoding, counted.units, counted.segments) == (encoding, units, segments)


# A long but real-looking practice, service and time: every default SMS must still be one segment.
LONG_CONTEXT = {
    **message_templates.SAMPLE_CONTEXT,
    "practice": "Riverside Family Dental Care",
    "service": "Comprehensive dental exam",
    "when": "Wed Sep 30 at 12:45 PM",
    "link": "https://frontdesk.example.com/o/" + "x" * 22,
}


@pytest.mark.parametrize("profile", ["healthcare", "salon", "legal", "general"])
@pytest.mark.parametrize("kind", message_templates.KINDS)
def test_default_sms_templates_fit_one_gsm_segment(profile, kind):
    rendered = message_templates.render(kind, profile, LONG_CONTEXT)
    segments = rendered.sms_segments
    assert (segments.encoding, segments.segments) == ("GSM-7", 1), rendered.sms
    assert rendered.subject and "\n" not in rendered.subject
    assert rendered.email.startswith("Hello Maria") and "Riverside Family Dental Care" in rendered.email


def test_healthcare_wording_differs_from_the_general_profile():
    healthcare = message_templates.render("confirmation", "healthcare", LONG_CONTEXT)
    general = message_templates.render("confirmation", "general", LONG_CONTEXT)
    assert "emergency" in healthcare.email and "emergency" not in general.email
    assert healthcare.sms == general.sms


def test_tenant_templates_run_sandboxed():
    with pytest.raises(TemplateRefused, match=r"unsafe"):
        render_untrusted("{{ practice.__class__.__mro__ }}", LONG_CONTEXT)
