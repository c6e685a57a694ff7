"""REST endpoints of the core (docs/api.md), a module per resource: configuration, preferences and
key (`config`), the API token (`token`), calls (`calls`), conversations (`conversations`), usage
(`usage`); `paging` holds the transcript reads' `?before=&limit=`.

Each view validates the request's shape, calls one service or selector and serializes the
answer. Errors leave through `voice.exception_handlers`.
"""
