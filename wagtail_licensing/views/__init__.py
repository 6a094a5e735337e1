"""The License manager's admin screens, one module per screen.

URLs are in ``wagtail_licensing.urls``.
"""
