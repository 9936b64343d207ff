from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class WorkOrderAttachmentOut(BaseModel):
    id: str
    contentType: Literal["multipart/form-data"] = "multipart/form-data"
    filename: str
    hash: str
    createdBy: str
    createdOn: str


class UploadedWorkOrderAttachmentOut(WorkOrderAttachmentOut):
    ticketId: str


class StagedAttachmentOut(BaseModel):
    attachmentId: str
    attachmentName: str
    attachmentType: str
    attachmentSize: int
    createdDate: str
    createdBy: str
    lastUpdatedDate: str


class DeletedOut(BaseModel):
    status: bool
