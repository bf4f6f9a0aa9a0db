"""Outputs: the solve folder, GIS exports (one registry of writers), QGIS styles and the HTML
report."""
