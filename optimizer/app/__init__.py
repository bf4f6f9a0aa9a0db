"""The carbonpark Streamlit app: one module per page, shared helpers in `optimizer.app.common`.

No module here imports Streamlit: the repository's top-level ``app.py`` imports it and calls
`optimizer.app.main.main` with the ``streamlit`` module, which every page and helper is given
as its first argument, ``st`` (`optimizer.app.ui.Ui`).
"""
