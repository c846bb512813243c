"""The authorization endpoint: ``/authorize`` and ``/authorize/resume``."""
