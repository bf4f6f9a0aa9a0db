"""What layer values measure: the dimensions of units, as written in messages.

Every unit (`optimizer.inputs.units`) has one dimension, and every layer role
(`optimizer.inputs.roles`) accepts only some: a stock is a mass per area or per cell, an
uptake a mass per area (or per cell) per time.
"""

from __future__ import annotations

MASS_AREA = "mass per area"
MASS_AREA_TIME = "mass per area per time"
MASS_CELL = "mass per cell"
MASS_CELL_TIME = "mass per cell per time"
COUNT_CELL = "count per cell"
AREA_CELL = "area per cell"
COST_CELL = "cost per cell"
COST_AREA = "cost per area"
INDEX = "index"
SPECIES = "species count"
FRACTION = "fraction"
CLASS = "class"
