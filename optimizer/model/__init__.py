"""The model: a problem's parts, the registry of objective kinds, the immutable `Problem`
and its compiled arrays."""
