"""Form pieces other apps reuse (the custom field form factory)."""
