"""The manifest (the user's dataset description) and the importers of public dataset formats."""
