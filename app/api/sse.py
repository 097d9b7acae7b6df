"""OpenAPI for Server-Sent Event streams whose events carry a name and a JSON payload model."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol


class NamedEvent(Protocol):
    event: ClassVar[str]

    @classmethod
    def model_json_schema(cls) -> dict[str, Any]: ...


def event_stream_response(*events: type[NamedEvent]) -> dict[str, Any]:
    """Document a stream of named Server-Sent Events, one JSON payload model per event name.

    FastAPI describes the payload only for streams of bare models, whose events carry no
    name; this spells each `event`/`data` pair out as OpenAPI 3.2's `itemSchema` does.
    """
    return {
        "description": "Server-Sent Events: " + ", ".join(f"`{event.event}`" for event in events) + ".",
        "content": {
            "text/event-stream": {
                "itemSchema": {
                    "oneOf": [
                        {
                            "type": "object",
                            "required": ["event", "data"],
                            "properties": {
                                "event": {"const": event.event},
                                "data": {
                                    "type": "string",
                                    "contentMediaType": "application/json",
                                    "contentSchema": event.model_json_schema(),
                                },
                            },
                        }
                        for event in events
                    ]
                }
            }
        },
    }
