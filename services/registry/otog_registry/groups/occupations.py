"""Occupation categories of the programme's groups (a closed list; ``other`` for the rest).

Chosen from the kinds of groups the programme's announcements name: funeral
flowers and wreaths, rice processing, herbal spa massage, sun-dried pork,
beekeeping, pla meng fish processing, weaving, coconut products, sewing and
crochet, lotus products, Lanna handicraft, rice-box basketry, pesticide-free
vegetables, decoupage, leaf plates, home-based work.
"""

from __future__ import annotations

from enum import StrEnum


class Occupation(StrEnum):
    food_processing = "food_processing"
    textiles_weaving = "textiles_weaving"
    sewing = "sewing"
    handicraft = "handicraft"
    agriculture = "agriculture"
    beekeeping = "beekeeping"
    livestock_fishery = "livestock_fishery"
    herbal_spa = "herbal_spa"
    flowers_wreaths = "flowers_wreaths"
    community_tourism = "community_tourism"
    services = "services"
    other = "other"


# (Thai label, English label, examples from the programme)
OCCUPATION_LABELS: dict[Occupation, tuple[str, str, str]] = {
    Occupation.food_processing: (
        "แปรรูปอาหาร",
        "Food processing",
        "rice processing, sun-dried pork, pla meng fish, coconut products",
    ),
    Occupation.textiles_weaving: (
        "ทอผ้าและสิ่งทอ",
        "Textiles and weaving",
        "local woven cloth, hand weaving",
    ),
    Occupation.sewing: ("ตัดเย็บและถักโครเชต์", "Sewing and crochet", "tailoring, crochet"),
    Occupation.handicraft: (
        "หัตถกรรม",
        "Handicraft",
        "Lanna handicraft, rice-box basketry, decoupage, leaf plates, lotus products",
    ),
    Occupation.agriculture: (
        "เกษตรกรรม",
        "Agriculture",
        "pesticide-free vegetables, fruit, rice farming",
    ),
    Occupation.beekeeping: ("เลี้ยงผึ้ง", "Beekeeping", "honey, beeswax"),
    Occupation.livestock_fishery: ("ปศุสัตว์และประมง", "Livestock and fishery", "poultry, fish ponds"),
    Occupation.herbal_spa: (
        "สมุนไพรและสปา",
        "Herbal and spa services",
        "herbal spa massage, herbal products",
    ),
    Occupation.flowers_wreaths: (
        "ดอกไม้และพวงหรีด",
        "Flowers and wreaths",
        "funeral flowers, wreaths, garlands",
    ),
    Occupation.community_tourism: ("ท่องเที่ยวชุมชน", "Community tourism", "homestays, local guides"),
    Occupation.services: ("บริการ", "Services", "home-based work, repairs, care work"),
    Occupation.other: ("อื่น ๆ", "Other", "anything not listed above"),
}
