from tend.core.text import clean_text


def test_clean_text_strips_and_checks():
    errors: dict[str, list[str]] = {}
    assert clean_text("  Anna  Lee ", "name", errors) == "Anna  Lee"
    assert clean_text("  Anna \n Lee ", "name", errors, collapse=True) == "Anna Lee"
    assert clean_text(None, "name", errors) == ""
    assert errors == {}


def test_clean_text_field_errors():
    errors: dict[str, list[str]] = {}
    clean_text("   ", "name", errors, required=True)
    clean_text("abcd", "title", errors, limit=3)
    clean_text(12, "body", errors)
    assert errors == {"name": ["This field is required."],
                      "title": ["Use at most 3 characters."],
                      "body": ["Enter text."]}
