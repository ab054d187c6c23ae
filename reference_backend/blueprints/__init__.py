"""The shop's blueprints, one module per area (see ``reference_backend.BLUEPRINTS``)."""
