"""Figures shared by the gap analysis, the report and the app: maps and charts, one colour per
zone and one unit per quantity."""
