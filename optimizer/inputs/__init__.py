"""Inputs: the registry of layer roles, units and their conversions, layer specs and reading them."""
