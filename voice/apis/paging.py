"""`?before=&limit=` on the reads that list a transcript (a call's, a conversation's), and the
`Link` header that points at the page before."""

from typing import Any
from urllib.parse import urlencode

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request

from voice import limits, selectors


class PageQuerySerializer(serializers.Serializer[Any]):
    """`?before=&limit=` on the reads that list a transcript (the latest page by default)."""

    before = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**63 - 1,  # a message id; PostgreSQL's bigint refuses anything larger
        help_text="A cursor from the `Link` header of the page read before: the page before it.",
    )
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=limits.READ_PAGE_MAX,
        default=limits.READ_PAGE_DEFAULT,
        help_text=f"Items per page (default {limits.READ_PAGE_DEFAULT}, "
        f"at most {limits.READ_PAGE_MAX}).",
    )


def page_query(request: Request) -> dict[str, Any]:
    query = PageQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    data: dict[str, Any] = query.validated_data
    return data


def earlier_link(request: Request, page: selectors.MessagePage, limit: int) -> dict[str, str]:
    """RFC 8288 `Link: <…?before=…>; rel="prev"` when earlier items exist: the body keeps
    docs/api.md's shape exactly, as on an unpaged read."""
    if page.earlier is None:
        return {}
    query = urlencode({"before": page.earlier, "limit": limit})
    return {"Link": f'<{request.path}?{query}>; rel="prev"'}


PAGING = (
    f"The latest {limits.READ_PAGE_DEFAULT} items by default, in conversation order (the "
    "`previous_item_id` chain within the page). When earlier items exist, the response has "
    '`Link: </api/…?before=<cursor>&limit=<n>>; rel="prev"`, the page before. `?limit=` '
    f"sets the page size (at most {limits.READ_PAGE_MAX})."
)
LINK_HEADER = OpenApiParameter(
    "Link",
    str,
    OpenApiParameter.HEADER,
    response=[200],
    description='`<url>; rel="prev"`: the page of earlier items, when there is one.',
)
