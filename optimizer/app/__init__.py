"""The carbonpark Streamlit app: one module per page, shared helpers in `optimizer.app.common`."""
