"""Plans: a solved problem evaluated (representation, status per unit, patches), its gap
closure, comparisons, candidate parks, priority rank and calibration."""
