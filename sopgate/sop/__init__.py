"""The SOP file: models, loading and validation, sequencing."""
