"""Names for the demo shop's data: pure functions of an index, shared by the generator and
the settings (whose load scenarios must name products and categories that exist)."""

from __future__ import annotations

CATEGORIES: tuple[tuple[str, str], ...] = (
    ("kitchen", "Kitchen"),
    ("tableware", "Tableware"),
    ("garden", "Garden"),
    ("lighting", "Lighting"),
    ("bathroom", "Bathroom"),
    ("bedroom", "Bedroom"),
    ("office", "Office"),
    ("storage", "Storage"),
    ("textiles", "Textiles"),
    ("tools", "Tools"),
    ("outdoor", "Outdoor"),
    ("kids", "Kids"),
    ("pets", "Pets"),
    ("travel", "Travel"),
    ("stationery", "Stationery"),
    ("audio", "Audio"),
    ("cycling", "Cycling"),
    ("camping", "Camping"),
    ("fitness", "Fitness"),
    ("coffee", "Coffee"),
    ("baking", "Baking"),
    ("crafts", "Crafts"),
    ("music", "Music"),
    ("games", "Games"),
    ("decor", "Decor"),
    ("cleaning", "Cleaning"),
    ("laundry", "Laundry"),
    ("hallway", "Hallway"),
    ("workshop", "Workshop"),
    ("picnic", "Picnic"),
)

_ADJECTIVES = (
    "Oak", "Linen", "Copper", "Slate", "Cedar", "Wool", "Brass", "Stone", "Walnut", "Cotton",
    "Enamel", "Bamboo", "Steel", "Clay", "Glass", "Birch", "Cork", "Felt", "Marble", "Rattan",
)  # fmt: skip
_NOUNS = (
    "Bowl", "Lamp", "Basket", "Mug", "Shelf", "Tray", "Stool", "Vase", "Jar", "Blanket",
    "Kettle", "Clock", "Mirror", "Hook", "Box", "Planter", "Board", "Rack", "Bench", "Cushion",
    "Bottle", "Bag", "Candle", "Brush", "Frame", "Towel", "Crate", "Lantern", "Pot", "Rug",
)  # fmt: skip
_STYLES = ("Classic", "Nordic", "Compact", "Large", "Studio", "Field", "Harbour", "Loft")


def category_slug(index: int) -> str:
    """The slug of category number ``index`` (0-based)."""
    return CATEGORIES[index % len(CATEGORIES)][0]


def product_name(index: int) -> str:
    """The name of product number ``index`` (1-based, as its primary key)."""
    adjective = _ADJECTIVES[index % len(_ADJECTIVES)]
    noun = _NOUNS[(index // len(_ADJECTIVES)) % len(_NOUNS)]
    style = _STYLES[(index // (len(_ADJECTIVES) * len(_NOUNS))) % len(_STYLES)]
    return f"{style} {adjective} {noun}"


def product_slug(index: int) -> str:
    """The URL slug of product number ``index``; unique because it ends with the index."""
    return f"{product_name(index).lower().replace(' ', '-')}-{index}"
