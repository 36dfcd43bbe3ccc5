"""Write operations of the core. Import from the submodules."""
