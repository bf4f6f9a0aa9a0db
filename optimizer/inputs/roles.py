"""The registry of layer roles: what each role of a layer means, in one place."""

from __future__ import annotations

#: Feature roles in the order they are listed.
ROLE_ORDER = ("carbon_stock", "carbon_uptake", "emissions", "biodiversity", "land_cover")
