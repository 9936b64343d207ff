from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from gatehouse.auth.dependencies import CanRequest
from gatehouse.comments.schemas import CommentIn, CommentOut
from gatehouse.comments.service import comment_as_customer
from gatehouse.kit.db import DatabaseDep
from gatehouse.kit.errors import error_responses
from gatehouse.kit.validation import JsonBody

router = APIRouter(tags=["Comments"])
_body = JsonBody(CommentIn, name="CommentRequest")


@router.post(
    "/v1/comments",
    response_model=CommentOut,
    summary="Add a comment to a work order",
    responses=error_responses(400, 401, 403, 404, 409, 413, 415),
    openapi_extra=_body.openapi_extra,
)
async def add_comment(ctx: CanRequest, db: DatabaseDep, body: Annotated[CommentIn, Depends(_body)]):
    return await comment_as_customer(db, ctx, body.requestId, body.comment)
