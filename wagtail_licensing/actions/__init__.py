"""The only writers of licensing state: one action class per module, over ``base.LicensingAction``.

The package's ``__init__`` imports nothing, so that its modules can import one another (and
``wording`` can import ``actions.results``) without cycles. Site code calls ``operations``.
"""
