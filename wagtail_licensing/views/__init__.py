"""The licensing admin screens, one module per screen.

Their URLs, namespaces and menu entries are the viewsets' in ``views.viewsets``.
"""
