from fastapi import APIRouter

router = APIRouter(tags=["Facility access"])
