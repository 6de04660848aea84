"""The IVR: the unified number's webhooks, the call flow and its TwiML."""

from ivr.views import bp

__all__ = ["bp"]
