"""Rows for the geography tables: ``geothai`` codes and names, thai-geography coordinates."""

from __future__ import annotations

import csv
from importlib import resources
from typing import Any

import geothai


def _data_file(name: str) -> list[dict[str, str]]:
    text = resources.files("otog_registry.geography").joinpath("data", name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


def geography_rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    regions = {r["code"]: r["region"] for r in _data_file("province_regions.csv")}
    coordinates = {
        r["code"]: (float(r["latitude"]), float(r["longitude"]))
        for r in _data_file("subdistrict_coordinates.csv")
    }
    provinces: list[dict[str, Any]] = []
    districts: list[dict[str, Any]] = []
    subdistricts: list[dict[str, Any]] = []
    for p in geothai.provinces():
        provinces.append(
            {
                "code": p.code,
                "name_th": p.name_th,
                "name_en": p.name_en,
                "region": regions.get(p.code),
            }
        )
        for d in geothai.districts(p.code):
            districts.append(
                {
                    "code": d.code,
                    "province_code": p.code,
                    "name_th": d.name_th,
                    "name_en": d.name_en,
                }
            )
            for s in geothai.subdistricts(d.code):
                lat, lon = coordinates.get(s.code, (None, None))
                subdistricts.append(
                    {
                        "code": s.code,
                        "district_code": d.code,
                        "province_code": p.code,
                        "name_th": s.name_th,
                        "name_en": s.name_en,
                        "postal_codes": list(s.postal_codes),
                        "latitude": lat,
                        "longitude": lon,
                    }
                )
    return provinces, districts, subdistricts
