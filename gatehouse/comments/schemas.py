from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, StringConstraints

from gatehouse.kit.wire import ApiModel, LongText

CommentText = Annotated[str, LongText(4000, 1)]


class CommentIn(ApiModel):
    requestId: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    comment: CommentText


class OperatorCommentIn(ApiModel):
    comment: CommentText


class CommentOut(BaseModel):
    comment: str
    commentedBy: str
    commentedOn: str
