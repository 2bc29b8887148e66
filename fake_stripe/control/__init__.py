"""The `/_fake/` control plane: health, reset, the OpenAPI document, the webhook journal and
settings, all behind the one guard in `guard.py`."""
