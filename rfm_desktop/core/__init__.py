"""The engine: loading, cleaning, RFM, clustering and export. No Qt here."""
