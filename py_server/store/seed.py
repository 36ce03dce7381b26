"""The catalogue the store opens with: exactly the seed's three products."""
from __future__ import annotations

import decimal

from py_server.store.models import Product

SEED_PRODUCTS = (
    {
        "name": "SUSTech Hoodie",
        "description": (
            "A cozy, stylish hoodie featuring the official SUSTech logo, "
            "perfect for showing school spirit."
        ),
        "category": "Apparel",
        "price": decimal.Decimal("49.99"),
        "slogan": "Stay warm, stay proud!",
        "stock": 500,
    },
    {
        "name": "SUSTech Water Bottle",
        "description": (
            "A high-quality, eco-friendly stainless steel water bottle "
            "with SUSTech branding."
        ),
        "category": "Drinkware",
        "price": decimal.Decimal("19.99"),
        "slogan": "Hydrate with pride!",
        "stock": 500,
    },
    {
        "name": "SUSTech Notebook",
        "description": (
            "A premium notebook with the SUSTech logo, ideal for jotting "
            "down ideas, notes, and memories."
        ),
        "category": "Stationery",
        "price": decimal.Decimal("9.99"),
        "slogan": "Write your future with SUSTech.",
        "stock": 500,
    },
)


def seed_products_once() -> None:
    """Inserts the seed products into an empty catalogue (call inside the schema lock)."""
    if Product.select().exists():
        return
    Product.insert_many(SEED_PRODUCTS).execute()
