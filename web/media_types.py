"""The media types the API speaks, named once."""

JSON = "application/json"
NDJSON = "application/x-ndjson"  # the event log streamed, one envelope a line
PROBLEM = "application/problem+json"  # errors (RFC 9457)
EVENT_STREAM = "text/event-stream"  # the change stream as server-sent events
