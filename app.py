"""carbonpark's Streamlit app from a source checkout: ``streamlit run app.py``.

The app lives in the package (`optimizer.app.main`); ``carbonpark app`` runs the same
from an installed package.
"""

from optimizer.app.main import main

main()
