"""Conditional requests (RFC 9110 §8.8.3, §13): strong ETags from row versions, 304 and 412.

A resource whose model has a `version` (`app.db.base.VersionedMixin`) gets its validators from a
`ResourceTags` made for its response model:

    post_tags = ResourceTags(PostRead)
    ReadablePost = Annotated[Post, Depends(post_tags.for_read(valid_post_id))]
    WritablePost = Annotated[Post, Depends(post_tags.for_write(valid_own_post_for_update))]

- `for_read` wraps the dependency that loads the resource for a GET: the response carries its
  `ETag`, and `If-None-Match` naming that tag (weak comparison, lists, `*`) answers 304 with the
  tag and no body; the handler does not run.
- `for_write` wraps the dependency that loads the resource **and locks its row** (SELECT … FOR
  UPDATE) for a PATCH or DELETE: `If-Match` must name the current tag (strong comparison) or be `*`,
  else 412 Precondition Failed; `If-None-Match` naming it (or `*`) is 412 too. Without either header
  the write goes ahead, serialised behind any other writer of the same row by the lock.
- `send(response, resource)` puts the new tag on a successful write's response.

The tag is `"<version>-<schema>"`: the row's version, which the database raises on every UPDATE,
and a short hash of the response model's JSON Schema, so a release that changes the representation
(a new field) also changes every tag and no client keeps an old body on a 304.
docs/decisions/0040-row-versions-and-etags.md explains the choices.

No `from __future__ import annotations` here: FastAPI reads the dependencies' signatures at
runtime, and the annotations built inside `for_read`/`for_write` refer to their local `load`.
"""

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel

from app.api.routing import RespondWith
from app.core.errors import FieldInvalid, PreconditionFailed

ETAG_HEADER = "ETag"
IF_MATCH = "If-Match"
IF_NONE_MATCH = "If-None-Match"

# RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text.
# Starlette decodes header bytes as Latin-1, so obs-text arrives as \x80-\xff. A list element ends
# at a comma or at the end; empty elements are allowed (RFC 9110 §5.6.1).
_ENTITY_TAG = re.compile(r'[ \t]*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*(?:,|\Z)')
_LIST_SEPARATORS = frozenset(", \t")


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


ResourceT = TypeVar("ResourceT", bound=Versioned)
Load = Callable[..., Awaitable[ResourceT]]


@dataclass(frozen=True, slots=True)
class EntityTag:
    opaque: str  # between the quotes
    weak: bool


class AnyTag:
    """`*`: any current representation of the resource."""


ANY_TAG = AnyTag()


def parse_entity_tags(field: str, values: list[str]) -> list[EntityTag] | AnyTag | None:
    """The tags of every `field` header line, `ANY_TAG` for `*`, None when the header is absent.

    A value that is not an entity-tag list is a 422 naming the header, like any malformed input.
    """
    if not values:
        return None
    combined = ", ".join(values).strip()  # several lines of a list header are one list (RFC 9110 §5.3)
    if combined == "*":
        return ANY_TAG
    tags: list[EntityTag] = []
    position = 0
    while position < len(combined):
        if combined[position] in _LIST_SEPARATORS:
            position += 1
            continue
        match = _ENTITY_TAG.match(combined, position)
        if match is None:
            raise FieldInvalid(
                field.lower(),
                f'{field} must be "*" or a list of entity tags such as "3-1a2b3c4d" (with the quotes).',
                error_type="entity_tag_list",
                location="header",
            )
        tags.append(EntityTag(opaque=match[2], weak=match[1] is not None))
        position = match.end()
    return tags


def matches(condition: list[EntityTag] | AnyTag, current: str, *, weak: bool) -> bool:
    """Does `condition` name `current` (a strong tag, quoted)? Strong comparison unless `weak`."""
    if isinstance(condition, AnyTag):
        return True
    opaque = current.strip('"')
    return any(tag.opaque == opaque and (weak or not tag.weak) for tag in condition)


def _schema_hash(representation: type[BaseModel]) -> str:
    schema = json.dumps(representation.model_json_schema(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(schema.encode()).hexdigest()[:8]


# Documented on each operation that reads them; the values are read with `getlist`, so a list
# split over several header lines is read whole.
IfNoneMatchHeader = Annotated[
    str | None,
    Header(
        alias=IF_NONE_MATCH,
        description='Answer 304 Not Modified, without a body, when the current ETag is one of these (or "*").',
    ),
]
IfMatchHeader = Annotated[
    str | None,
    Header(
        alias=IF_MATCH,
        description='Change the resource only if its current ETag is one of these (or "*" for any); '
        "otherwise 412 Precondition Failed. Without it the change is made whatever the version.",
    ),
]
WriteIfNoneMatchHeader = Annotated[
    str | None,
    Header(
        alias=IF_NONE_MATCH,
        description='412 Precondition Failed when the current ETag is one of these (or "*" for any).',
    ),
]

NOT_MODIFIED_RESPONSE: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the ETag named in If-None-Match is current. No body."}
}


class ResourceTags:
    """Entity tags for one kind of resource, and the dependencies that evaluate conditional requests."""

    def __init__(self, representation: type[BaseModel]) -> None:
        self._schema = _schema_hash(representation)

    def of(self, resource: Versioned) -> str:
        return f'"{resource.version}-{self._schema}"'

    def send(self, response: Response, resource: Versioned) -> None:
        response.headers[ETAG_HEADER] = self.of(resource)

    def for_read(self, load: Load[ResourceT]) -> Load[ResourceT]:
        async def read_with_validator(
            resource: Annotated[ResourceT, Depends(load)],
            request: Request,
            response: Response,
            if_none_match: IfNoneMatchHeader = None,  # noqa: ARG001 - documents the header; read below
        ) -> ResourceT:
            current = self.of(resource)
            condition = parse_entity_tags(IF_NONE_MATCH, request.headers.getlist(IF_NONE_MATCH))
            # RFC 9110 §13.1.2: If-None-Match uses the weak comparison; on GET and HEAD a match is 304.
            if condition is not None and matches(condition, current, weak=True):
                raise RespondWith(Response(status_code=304, headers={ETAG_HEADER: current}))
            response.headers[ETAG_HEADER] = current
            return resource

        read_with_validator.__name__ = f"{getattr(load, '__name__', 'load')}_with_validator"
        return read_with_validator

    def for_write(self, load_for_update: Load[ResourceT]) -> Load[ResourceT]:
        async def write_if_current(
            resource: Annotated[ResourceT, Depends(load_for_update)],
            request: Request,
            if_match: IfMatchHeader = None,  # noqa: ARG001 - documents the header; read below
            if_none_match: WriteIfNoneMatchHeader = None,  # noqa: ARG001 - as above
        ) -> ResourceT:
            # The row is locked by now, so the version compared here is the one the write will replace.
            current = self.of(resource)
            expected = parse_entity_tags(IF_MATCH, request.headers.getlist(IF_MATCH))
            if expected is not None and not matches(expected, current, weak=False):
                raise PreconditionFailed
            refused = parse_entity_tags(IF_NONE_MATCH, request.headers.getlist(IF_NONE_MATCH))
            if refused is not None and matches(refused, current, weak=True):
                raise PreconditionFailed("The resource has the version named in If-None-Match.")
            return resource

        write_if_current.__name__ = f"{getattr(load_for_update, '__name__', 'load')}_if_current"
        return write_if_current
