from __future__ import annotations

from fastapi import APIRouter, Path, Query

from contracts.ids import ID_PATTERN

from ... import crud, schemas
from ..deps import SessionDep

router = APIRouter(prefix="/assets", tags=["assets"])
AssetId = Path(pattern=ID_PATTERN)


@router.get("", response_model=list[schemas.AssetPublic])
def list_assets(db: SessionDep):
    """Assets ranked by current failure risk, highest first."""
    return crud.list_assets(db)


@router.get("/{asset_id}", response_model=schemas.AssetPublic)
def get_asset(db: SessionDep, asset_id: str = AssetId):
    asset = crud.get_asset(db, asset_id)
    count = crud.open_orders_by_asset(db).get(asset_id, 0)
    return schemas.AssetPublic.model_validate(asset).model_copy(
        update={"open_work_orders": count})


@router.put("/{asset_id}", response_model=schemas.AssetPublic)
def upsert_asset(db: SessionDep, data: schemas.AssetUpsert, asset_id: str = AssetId):
    return crud.upsert_asset(db, asset_id, data)


@router.post("/{asset_id}/health", response_model=schemas.HealthPublic, status_code=201)
def add_health(db: SessionDep, data: schemas.HealthCreate, asset_id: str = AssetId):
    return crud.add_health(db, asset_id, data)


@router.get("/{asset_id}/health", response_model=list[schemas.HealthPublic])
def health_history(db: SessionDep, asset_id: str = AssetId,
                   limit: int = Query(default=500, ge=1, le=10_000)):
    return crud.health_history(db, asset_id, limit)
