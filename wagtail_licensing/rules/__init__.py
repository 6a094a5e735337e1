"""One home for each licensing rule that several surfaces show or apply.

Pure functions and small value types: nothing here imports models, so models, actions, views,
the command and the API can all use them. See docs/architecture.md.
"""
